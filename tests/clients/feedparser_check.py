"""Parse each URL with Python feedparser, as a subscriber would, then fetch it again with the
validators it got back. Prints one JSON object per URL for the Rust test to judge."""
import json
import sys

import feedparser

for url in sys.argv[1:]:
    first = feedparser.parse(url)
    again = feedparser.parse(url, etag=first.get("etag"), modified=first.get("modified"))
    print(json.dumps({
        "url": url,
        "status": first.get("status"),
        "bozo": int(first.bozo),
        "exception": str(first.get("bozo_exception", "")),
        "version": first.version,
        "ids": [e.get("id") for e in first.entries],
        "titles": [e.get("title") for e in first.entries],
        "links": [e.get("link") for e in first.entries],
        "enclosures": [[x.get("href") for x in e.get("enclosures", [])] for e in first.entries],
        "second_status": again.get("status"),
    }))
