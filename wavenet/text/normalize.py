"""Text as a reader says it: numbers, money, times, abbreviations and symbols in words; sentences.

Text to speech starts here. espeak-ng, which turns words into phonemes (:mod:`.espeak`), reads
"1999" as "nineteen hundred ninety nine", "$12.50" as "dollar twelve point five zero" and stops a
clause after "Dr."; so the text is first rewritten into plain words, with only the punctuation
that shapes a sentence's melody kept (``, ; : . ? !``). The same words are what a recogniser's
transcript is compared with (:mod:`wavenet.evaluation.intelligibility`).

English only, American readings: "1,234" is "one thousand two hundred thirty-four", "3:05 pm"
is "three oh five p m", four-digit numbers from 1100 to 2099 standing alone are years.
"""

from __future__ import annotations

import re
import unicodedata

ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred")]
ORDINAL_WORDS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth",
    "twelve": "twelfth",
}  # fmt: skip

# Abbreviations a reader expands, with the period they end in (case-sensitive where it matters).
ABBREVIATIONS = {
    "Mr.": "mister", "Mrs.": "missus", "Ms.": "miz", "Dr.": "doctor", "Prof.": "professor", "Jr.": "junior",
    "Sr.": "senior", "Mt.": "mount", "Ave.": "avenue", "Rd.": "road", "Blvd.": "boulevard", "vs.": "versus",
    "etc.": "et cetera", "e.g.": "for example", "i.e.": "that is", "approx.": "approximately", "Co.": "company",
    "Inc.": "incorporated", "Ltd.": "limited", "Dept.": "department", "Gov.": "governor", "Sen.": "senator",
    "Rep.": "representative", "Gen.": "general", "Capt.": "captain", "Lt.": "lieutenant", "Sgt.": "sergeant",
    "Jan.": "january", "Feb.": "february", "Mar.": "march", "Apr.": "april", "Aug.": "august",
    "Sept.": "september", "Sep.": "september", "Oct.": "october", "Nov.": "november", "Dec.": "december",
}  # fmt: skip
CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
              "€": ("euro", "euros", "cent", "cents")}  # fmt: skip
SYMBOLS = {"&": " and ", "+": " plus ", "=": " equals ", "@": " at ", "%": " percent ", "°": " degrees "}
CLAUSE_PUNCTUATION = ",;:.?!"
MAX_SENTENCE_CHARS = 300  # longer sentences are cut at clause marks, then between words


def cardinal(n: int) -> str:
    """A whole number in words: 1234 → "one thousand two hundred thirty-four"."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10 - 2] + ("" if n % 10 == 0 else "-" + ONES[n % 10])
    for scale, name in SCALES:
        if n >= scale:
            head, rest = divmod(n, scale)
            if head >= 1000 and scale == 10**12:  # beyond trillions: digit by digit
                return digits(str(n))
            return f"{cardinal(head)} {name}" + ("" if rest == 0 else " " + cardinal(rest))
    raise AssertionError(n)


def ordinal(n: int) -> str:
    """21 → "twenty-first", 100 → "one hundredth"."""
    words = cardinal(n)
    head, sep, last = words.rpartition("-") if "-" in words.split(" ")[-1] else words.rpartition(" ")
    if last in ORDINAL_WORDS:
        last = ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def year(n: int) -> str:
    """1999 → "nineteen ninety-nine", 2005 → "two thousand five", 1900 → "nineteen hundred"."""
    if 2000 <= n <= 2009:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    return f"{cardinal(high)} {'oh ' + ONES[low] if low < 10 else cardinal(low)}"


def digits(text: str) -> str:
    """Digit by digit, as codes and telephone numbers are read: "007" → "zero zero seven"."""
    return " ".join(ONES[int(d)] for d in text if d.isdigit())


def _decimal(whole: str, fraction: str) -> str:
    return f"{cardinal(int(whole.replace(',', '') or 0))} point {digits(fraction)}"


def _money(match: re.Match) -> str:
    one, many, one_cent, cents_word = CURRENCIES[match.group("cur")]
    whole = int(match.group("whole").replace(",", ""))
    scale = match.group("scale")
    if scale:  # "$2.5 million" → "two point five million dollars"
        number = _decimal(match.group("whole"), match.group("frac")) if match.group("frac") else cardinal(whole)
        return f" {number} {scale.lower()} {many} "
    words = f"{cardinal(whole)} {one if whole == 1 else many}"
    if match.group("frac"):
        cents = int((match.group("frac") + "0")[:2])
        if cents:
            words += f" and {cardinal(cents)} {one_cent if cents == 1 else cents_word}"
    return f" {words} "


def _time(match: re.Match) -> str:
    hour, minute = int(match.group("h")), int(match.group("m"))
    if hour > 24 or minute > 59:
        return f" {cardinal(hour)} {cardinal(minute)} "
    words = cardinal(hour) + (" o'clock" if minute == 0 and not match.group("ampm") else "")
    if minute:
        words += " " + ("oh " + ONES[minute] if minute < 10 else cardinal(minute))
    if match.group("ampm"):
        words += " " + " ".join(match.group("ampm").lower().replace(".", ""))
    return f" {words} "


def _number(match: re.Match) -> str:
    text, sign = match.group("num"), match.group("sign")
    if match.group("suffix"):  # 1st, 22nd, 103rd
        return f" {ordinal(int(text.replace(',', '')))} "
    if "." in text:
        whole, fraction = text.split(".", 1)
        words = _decimal(whole, fraction)
    elif len(text) > 1 and text.startswith("0"):
        words = digits(text)
    elif "," not in text and len(text) == 4 and 1100 <= int(text) <= 2099 and not sign:
        words = year(int(text))
    else:
        words = cardinal(int(text.replace(",", "")))
    return f" {'minus ' if sign else ''}{words} "


def _decade(match: re.Match) -> str:
    """1990s → "nineteen nineties", 80s → "eighties"."""
    number = int(match.group(1))
    words = year(number) if len(match.group(1)) == 4 else cardinal(number)
    words = words[:-1] + "ies" if words.endswith("y") else words + "s"
    return f" {words} "


PHONE = re.compile(r"(?<![\d-])(?:\d{3}-)?\d{3}-\d{4}(?![\d-])")
DECADE = re.compile(r"\b(\d{4}|\d0)'?s\b")
INITIALISM = re.compile(r"(?<![\w.])(?:[A-Za-z]\.){2,}")
MONEY = re.compile(
    r"(?P<cur>[$£€])\s?(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?(?:\s?(?P<scale>million|billion|thousand|trillion)\b)?",
    re.I,
)
TIME = re.compile(r"\b(?P<h>\d{1,2}):(?P<m>\d{2})\b(?:\s?(?P<ampm>[ap]\.?m\.?)(?=\W|$))?", re.I)
NUMBER = re.compile(
    r"(?P<sign>(?<![\w.])-)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<suffix>st|nd|rd|th)?\b"
)


def normalize(text: str) -> str:
    """Plain lower-case words with clause punctuation: what espeak-ng and a word error rate read.

    "Dr. Smith paid $12.50 on Jan. 3rd, 1999." → "doctor smith paid twelve dollars and fifty
    cents on january third, nineteen ninety-nine." An empty result means nothing speakable.
    """
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u2014", ", ").replace("\u2013", " to ")
    for abbreviation, words in ABBREVIATIONS.items():
        text = re.sub(r"(?<![\w.])" + re.escape(abbreviation), " " + words + " ", text)
    text = re.sub(r"\bSt\.(?=\s+[A-Z])", " saint ", text)  # St. Louis; 5th St. is a street
    text = re.sub(r"\bSt\.", " street ", text)
    text = re.sub(r"\bNo\.\s?(?=\d)", " number ", text)
    text = MONEY.sub(_money, text)
    text = TIME.sub(_time, text)
    text = re.sub(r"(\d)\s?%", r"\1 percent", text)
    text = PHONE.sub(lambda m: " " + ", ".join(digits(g) for g in m.group().split("-")) + ", ", text)
    text = re.sub(r"(?<=\d)-(?=\d)", " to ", text)  # 1990-1995, pages 3-5
    text = DECADE.sub(_decade, text)
    text = re.sub(r"(\d)(?!(?:st|nd|rd|th)\b)(?=[A-Za-z])", r"\1 ", text)  # 5km, 3x
    text = NUMBER.sub(_number, text)
    text = INITIALISM.sub(lambda m: " " + " ".join(m.group().replace(".", "")) + " ", text)
    for symbol, words in SYMBOLS.items():
        text = text.replace(symbol, words)
    text = re.sub(r"\.{2,}|…", ",", text)
    text = re.sub(r"[()\[\]{}]", ",", text)  # a parenthesis is read with a pause
    text = re.sub(r"(?<=\w)[-/](?=\w)", " ", text)  # and/or, well-known
    text = re.sub(rf"[^a-z' {re.escape(CLAUSE_PUNCTUATION)}]+", " ", text.lower())
    text = re.sub(r"(?<![a-z])'|'(?![a-z])", " ", text)  # quotes, not apostrophes
    text = re.sub(rf"\s*([{re.escape(CLAUSE_PUNCTUATION)}])[\s{re.escape(CLAUSE_PUNCTUATION)}]*", r"\1 ", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(rf"^[{re.escape(CLAUSE_PUNCTUATION)}\s]+", "", text)
    return text if re.search(r"[a-z]", text) else ""


_ABBREVIATION_END = re.compile(
    r"(?:" + "|".join(re.escape(a[:-1]) for a in [*ABBREVIATIONS, "St.", "No."]) + r"|\b[A-Z])\.$"
)


def sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """The text cut into sentences (raw, not normalised), each at most ``max_chars`` long.

    A sentence ends at ``. ? !`` followed by a space and a capital, a digit or a quote, except after
    an abbreviation or an initial ("Dr. Smith", "J. S. Bach"); a paragraph break always ends one.
    Sentences longer than ``max_chars`` are cut at ``, ; :``, then between words.
    """
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        start = 0
        for match in re.finditer(r"[.?!]+[\"')\]]*\s+(?=[A-Z0-9\"'(\[$£€])", paragraph):
            if _ABBREVIATION_END.search(paragraph[start : match.start() + 1].rstrip("\"')]")):
                continue
            out.append(paragraph[start : match.end()].strip())
            start = match.end()
        out.append(paragraph[start:].strip())
    return [piece for sentence in out if sentence for piece in _cut(sentence, max_chars)]


def _cut(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    for pattern in (r"(?<=[,;:])\s+", r"\s+"):
        pieces, current = [], ""
        for part in re.split(pattern, sentence):
            if current and len(current) + 1 + len(part) > max_chars:
                pieces.append(current)
                current = part
            else:
                current = f"{current} {part}".strip()
        pieces.append(current)
        if all(len(p) <= max_chars for p in pieces):
            return pieces
    return [sentence[i : i + max_chars] for i in range(0, len(sentence), max_chars)]  # one endless word
