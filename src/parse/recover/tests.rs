use super::*;

#[test]
fn rss_without_version_gets_one() {
    let fixed = fix_rss_version(b"<?xml version=\"1.0\"?>\n<rss><channel/></rss>").unwrap();
    assert_eq!(
        fixed,
        b"<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel/></rss>"
    );
}

#[test]
fn unknown_rss_version_is_replaced_and_known_one_left() {
    let fixed = fix_rss_version(b"<rss version='2.01' xmlns:a=\"x\"><channel/></rss>").unwrap();
    assert_eq!(
        fixed,
        b"<rss version=\"2.0\" xmlns:a=\"x\"><channel/></rss>"
    );
    assert_eq!(
        fix_rss_version(b"<rss version=\"2.0\"><channel/></rss>"),
        None
    );
    assert_eq!(fix_rss_version(b"<feed><rss/></feed>"), None);
}

#[test]
fn bare_ampersands_are_escaped_but_entities_kept() {
    let fixed = fix_bare_ampersands(b"<t>Tom & Jerry &amp; &#38; &#x26; && &nbsp;</t>").unwrap();
    assert_eq!(
        String::from_utf8(fixed).unwrap(),
        "<t>Tom &amp; Jerry &amp; &#38; &#x26; &amp;&amp; &nbsp;</t>"
    );
    assert_eq!(fix_bare_ampersands(b"<t>a &amp; b</t>"), None);
}

#[test]
fn utf16_without_bom_is_detected_and_redeclared() {
    let text = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss/>";
    let be: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
    let out = utf16_to_utf8(&be).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss/>"
    );
    assert_eq!(utf16_to_utf8(b"<rss/>"), None);
}

#[test]
fn undeclared_latin1_is_decoded_with_the_header_charset() {
    let fixed = fix_undeclared_encoding(b"<t>caf\xe9</t>", Some("text/xml; charset=iso-8859-1"));
    assert_eq!(String::from_utf8(fixed.unwrap()).unwrap(), "<t>café</t>");
    assert_eq!(fix_undeclared_encoding(b"<t>caf\xc3\xa9</t>", None), None);
}

#[test]
fn the_declaration_is_put_first_and_short_and_later_encodings_dropped() {
    let ok = b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><rss/>";
    assert_eq!(declaration_first(ok), None);
    assert_eq!(declaration_first(b"<rss/>"), None);
    let fixed = declaration_first(
        b"\xEF\xBB\xBF\n\n<!-- c --><?xml  version='1.0' encoding='koi8-r' ?><rss><![CDATA[<?xml version=\"1.0\" encoding=\"KOI8-R\"?>]]><!-- <?xml encoding='big5'?> --><?xml version=\"1.0\"?></rss>",
    )
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&fixed),
        "\u{feff}<?xml version=\"1.0\" encoding=\"koi8-r\"?>\n\n<!-- c --><rss><![CDATA[<?xml version=\"1.0\" encoding=\"KOI8-R\"?>]]><!-- <?xml x-encoding='big5'?> --><?xml version=\"1.0\"?></rss>",
        "only a later declaration of another encoding changes"
    );
    // Found by the fuzz target: a declaration inside another one (the ranges overlap; they
    // once made slicing panic). The first is unreadable, so the document stays UTF-8 and
    // every encoding named after its start is dropped, the inner one's too.
    assert_eq!(
        declaration_first(b"<?xml <?xml encoding='big5'?><rss/><?xml encoding='koi8-r'?>").unwrap(),
        b"<?xml <?xml x-encoding='big5'?><rss/><?xml x-encoding='koi8-r'?>"
    );
    // A declaration moved first that holds another: it goes whole, the other with it.
    assert_eq!(
        String::from_utf8_lossy(
            &declaration_first(
                b"\n\n<?xml version='1.0' encoding='koi8-r' <?xml encoding='big5'?><rss/><?xml encoding='big5'?>"
            )
            .unwrap()
        ),
        "<?xml version=\"1.0\" encoding=\"koi8-r\"?>\n\n<rss/><?xml x-encoding='big5'?>"
    );
    // Later in the document than quick-xml can switch, whatever hides it: dropped.
    assert_eq!(
        declaration_first(b"<?xm\x02<?xml encoding=\"big5\"?><rss/>").unwrap(),
        b"<?xm\x02<?xml x-encoding=\"big5\"?><rss/>"
    );
}

#[test]
fn emails_beside_multi_byte_characters_in_contacts_get_a_space() {
    let fixed = space_contact_emails(
        "<author>dave@example.com\u{a0}(Dave)</author><webMaster>Ann\u{b7}ann@example.org</webMaster>".as_bytes(),
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(fixed).unwrap(),
        "<author>dave@example.com \u{a0}(Dave)</author><webMaster>Ann\u{b7} ann@example.org</webMaster>"
    );
    let entity = space_contact_emails(b"<author>x@example.com&#xA0;X</author>").unwrap();
    assert_eq!(entity, b"<author>x@example.com &#xA0;X</author>");
    // Delimiters feed-rs cuts on purpose are left alone, and so is text elsewhere.
    for untouched in [
        &b"<author>First Last &lt;user@example.com&gt;</author>"[..],
        b"<author>First Last (user@example.com)</author>",
        b"<managingEditor>user@example.com</managingEditor>",
        "<title>user@example.com\u{a0}x</title>".as_bytes(),
    ] {
        assert_eq!(space_contact_emails(untouched), None);
    }
}
