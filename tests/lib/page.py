"""The table page, parsed: what the tests look at."""
import html.parser


class Page(html.parser.HTMLParser):
    """The parts of the table page the tests look at."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.headers = []
        self.rows = []
        self.links = {}
        self.ids = {}
        self.tags = []  # every start tag, in order
        self._cell = None
        self._id = None
        self._in_tbody = False
        self.body_tags = []  # start tags inside <tbody>
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if self._in_tbody:
            self.body_tags.append(tag)
        if tag == "tbody":
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody:
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = {"tag": tag, "null": a.get("class") == "null", "text": ""}
        elif tag == "a" and "rel" in a:
            self.links[a["rel"]] = a.get("href")
        if "id" in a:
            self._id = a["id"]
            self.ids[self._id] = ""

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_tbody = False
        elif tag in ("td", "th") and self._cell is not None:
            c = self._cell
            if c["tag"] == "th":
                self.headers.append(c["text"])
            else:
                self.rows[-1].append(None if c["null"] else c["text"])
            self._cell = None
        self._id = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        if self._id is not None:
            self.ids[self._id] += data


def html_forbids(ch):
    """C1 controls and noncharacters, which HTML forbids in a page."""
    cp = ord(ch)
    return 0x80 <= cp <= 0x9f or 0xfdd0 <= cp <= 0xfdef or cp & 0xfffe == 0xfffe


def as_shown_in_html(value):
    """What a value looks like on the page: C0 controls other than tab,
    LF and CR, and DEL, are shown as their Unicode control pictures, and
    what HTML forbids as U+FFFD."""
    if value is None:
        return None
    return "".join(chr(0x2400 + ord(ch)) if ord(ch) < 0x20 and ch not in "\t\n\r"
                   else "\u2421" if ch == "\x7f"
                   else "\ufffd" if html_forbids(ch) else ch for ch in value)
