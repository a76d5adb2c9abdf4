"""Tests for wyoming_kokoro.normalize: written text -> speakable words.

Most tests are tables of exact input/output pairs, because a TTS front end is
judged by exactly what it hands the phonemiser. The property tests at the end
check the promises the server relies on: never raise, never return padding,
never lose a plain word.
"""

from __future__ import annotations

import contextlib
import logging
import unicodedata
from unittest import mock

import pytest

import wyoming_kokoro.normalize as normalize_package
from wyoming_kokoro.normalize import RULES, normalize
from wyoming_kokoro.normalize import context as normalize_context

try:  # the property tests need hypothesis; the tables below do not
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - exercised only without the test extra
    st = None

LANGS = ("en-us", "en-gb", "es", "fr-fr", "it", "pt-br", "hi", "ja", "zh", "xx")


def check(cases):
    """pytest.param ids from the input text, so failures name the case."""
    return [pytest.param(*case, id=repr(case[0])[:40]) for case in cases]


# ---------------------------------------------------------------------------
# English (en-us unless noted)
# ---------------------------------------------------------------------------

EN_NUMBERS = [
    ("42", "forty-two"),
    ("0", "zero"),
    ("1.5", "one point five"),
    ("21.5", "twenty-one point five"),
    ("0.05", "zero point zero five"),
    ("3,497", "three thousand four hundred ninety-seven"),
    ("1,000,000", "one million"),
    ("105", "one hundred five"),
    ("-5", "minus five"),
    ("−12.5", "minus twelve point five"),
    ("007", "zero zero seven"),
    ("It was 5.", "It was five."),
    ("Level 3 of 10", "Level three of ten"),
    ("1.2.3", "one dot two dot three"),
    ("192.168.1.1", "one hundred ninety-two dot one hundred sixty-eight dot one dot one"),
    ("COVID-19", "COVID-nineteen"),
    ("5.3 billion", "five point three billion"),
    ("1999", "one thousand nine hundred ninety-nine"),
    ("2026 homes", "two thousand twenty-six homes"),
]

EN_GB = [
    ("3,497", "three thousand four hundred and ninety-seven"),
    ("105", "one hundred and five"),
    ("in 2005", "in two thousand and five"),
    ("2026-11-24", "the twenty-fourth of November, twenty twenty-six"),
    ("100 m", "one hundred metres"),
    ("2 L", "two litres"),
    ("24/11/2026", "the twenty-fourth of November, twenty twenty-six"),
    ("£3.50", "three pounds and fifty pence"),
]

EN_ORDINALS_FRACTIONS_RANGES = [
    ("1st", "first"),
    ("22nd", "twenty-second"),
    ("3rd", "third"),
    ("4th", "fourth"),
    ("the 101st time", "the one hundred first time"),
    ("1/2", "one half"),
    ("3/4", "three quarters"),
    ("2/3", "two thirds"),
    ("1/5", "one fifth"),
    ("3 1/2 cups", "three and a half cups"),
    ("2 3/4", "two and three quarters"),
    ("½ cup", "one half cup"),
    ("2¾", "two and three quarters"),
    ("5-10", "five to ten"),
    ("10–20", "ten to twenty"),
    ("pages 10-20", "pages ten to twenty"),
    ("1990-1995", "nineteen ninety to nineteen ninety-five"),
    ("1.5-2.5", "one point five to two point five"),
]

EN_PERCENT = [
    ("85%", "eighty-five percent"),
    ("85 %", "eighty-five percent"),
    ("-3.5%", "minus three point five percent"),
    ("+5%", "plus five percent"),
    ("10-20%", "ten to twenty percent"),
    ("Battery at 100%!", "Battery at one hundred percent!"),
]

EN_MONEY = [
    ("$5.30", "five dollars and thirty cents"),
    ("€12", "twelve euros"),
    ("£3.50", "three pounds and fifty pence"),
    ("$1", "one dollar"),
    ("$1.00", "one dollar"),
    ("$0.50", "fifty cents"),
    ("$0.01", "one cent"),
    ("$5.3 billion", "five point three billion dollars"),
    ("$1 million", "one million dollars"),
    ("$5k", "five thousand dollars"),
    ("€2.5M", "two point five million euros"),
    ("50¢", "fifty cents"),
    ("1¢", "one cent"),
    ("$1,234.56", "one thousand two hundred thirty-four dollars and fifty-six cents"),
    ("-$5", "minus five dollars"),
    ("5 USD", "five dollars"),
    ("12 €", "twelve euros"),
    ("₹500", "five hundred rupees"),
    ("¥1000", "one thousand yen"),
    ("It costs $5-$10", "It costs five to ten dollars"),
    ("$5.50-$10", "five dollars and fifty cents to ten dollars"),
]

EN_TIME = [
    ("3:45 PM", "three forty-five PM"),
    ("3:45 pm", "three forty-five PM"),
    ("3:00 PM", "three PM"),
    ("10am", "ten AM"),
    ("10 a.m.", "ten AM."),
    ("at 3 p.m. Then we go", "at three PM. Then we go"),
    ("15:30", "fifteen thirty"),
    ("12:00 noon", "twelve noon"),
    ("10:05", "ten oh five"),
    ("7:00", "seven o'clock"),
    ("13:00", "thirteen hundred"),
    ("0:00", "midnight"),
    ("23:59:59", "twenty-three fifty-nine and fifty-nine seconds"),
    ("10:05:01", "ten oh five and one second"),
    ("open 9:00-17:00", "open nine o'clock to seventeen hundred"),
    ("25:99", "twenty-five:ninety-nine"),
]

EN_DATES_YEARS = [
    ("2026-11-24", "November twenty-fourth, twenty twenty-six"),
    ("11/24/2026", "November twenty-fourth, twenty twenty-six"),
    ("24/11/2026", "November twenty-fourth, twenty twenty-six"),  # mdy impossible: dmy
    ("1/2/2026", "January second, twenty twenty-six"),
    ("Nov 24", "November twenty-fourth"),
    ("Nov. 24, 2026", "November twenty-fourth, twenty twenty-six"),
    ("November 24th", "November twenty-fourth"),
    ("May 5, 2026", "May fifth, twenty twenty-six"),
    ("5 May 2026", "the fifth of May, twenty twenty-six"),
    ("the 5th of May", "the fifth of May"),
    ("March 2026", "March twenty twenty-six"),
    ("in 1999", "in nineteen ninety-nine"),
    ("in 2026", "in twenty twenty-six"),
    ("since 2000", "since two thousand"),
    ("in 2005", "in two thousand five"),
    ("year 1905", "year nineteen oh five"),
    ("the 90s", "the nineties"),
    ("the '80s", "the eighties"),
    ("in her 20s", "in her twenties"),
    ("1990s", "nineteen nineties"),
    ("the 1800s", "the eighteen hundreds"),
    ("the 2000s", "the two thousands"),
    ("500 BC", "five hundred B C"),
]

EN_PHONE = [
    ("+1 555-123-4567", "plus one, five five five, one two three, four five six seven"),
    ("555-123-4567", "five five five, one two three, four five six seven"),
    ("(555) 123-4567", "five five five, one two three, four five six seven"),
    ("call 555.123.4567 now", "call five five five, one two three, four five six seven now"),
    ("+44 20 7946 0958",
     "plus four four, two zero, seven nine four six, zero nine five eight"),
]

EN_UNITS = [
    ("-5 °C", "minus five degrees Celsius"),
    ("21.5 °C", "twenty-one point five degrees Celsius"),
    ("72°F", "seventy-two degrees Fahrenheit"),
    ("1 °F", "one degree Fahrenheit"),
    ("25°", "twenty-five degrees"),
    ("1 kWh", "one kilowatt hour"),
    ("12.4 kWh", "twelve point four kilowatt hours"),
    ("1 Wh", "one watt hour"),
    ("2 W", "two watts"),
    ("1.5 kW", "one point five kilowatts"),
    ("230 V", "two hundred thirty volts"),
    ("16 A", "sixteen amps"),
    ("500 mA", "five hundred milliamps"),
    ("5 km/h", "five kilometers per hour"),
    ("60 mph", "sixty miles per hour"),
    ("1 mph", "one mile per hour"),
    ("5 m/s", "five meters per second"),
    ("3 mm", "three millimeters"),
    ("2 cm", "two centimeters"),
    ("100 m", "one hundred meters"),
    ("1 km", "one kilometer"),
    ("2 kg", "two kilograms"),
    ("500 g", "five hundred grams"),
    ("1 lb", "one pound"),
    ("5 lbs", "five pounds"),
    ("1013 hPa", "one thousand thirteen hectopascals"),
    ("1013 mbar", "one thousand thirteen millibars"),
    ("400 ppm", "four hundred parts per million"),
    ("12 µg/m³", "twelve micrograms per cubic meter"),
    ("1 ug/m3", "one microgram per cubic meter"),
    ("60 dB", "sixty decibels"),
    ("-70 dBm", "minus seventy decibel milliwatts"),
    ("1 L", "one liter"),
    ("250 ml", "two hundred fifty milliliters"),
    ("16 GB", "sixteen gigabytes"),
    ("512 MB", "five hundred twelve megabytes"),
    ("50 Hz", "fifty hertz"),
    ("2.4 GHz", "two point four gigahertz"),
    ("5 min", "five minutes"),
    ("30 s", "thirty seconds"),
    ("2 h", "two hours"),
    ("3 m²", "three square meters"),
    ("1000-2000 W", "one thousand to two thousand watts"),
    ("in 1500 ms", "in one thousand five hundred milliseconds"),
    ("5 min 30 s", "five minutes thirty seconds"),
    ("3/4 km", "three quarters of a kilometer"),
    ("1/2 h", "one half of an hour"),
    ("in 30s", "in 30s"),  # seconds or a decade? left for espeak-ng
]

EN_ABBREVIATIONS = [
    ("Dr. Smith", "Doctor Smith"),
    ("Dr Smith", "Doctor Smith"),
    ("Elm Dr. is closed", "Elm Drive is closed"),
    ("St. Louis", "Saint Louis"),
    ("Main St.", "Main Street."),
    ("123 Main St", "one hundred twenty-three Main Street"),
    ("Mr. Smith and Mrs. Jones and Ms. Lee", "Mister Smith and Missus Jones and Miz Lee"),
    ("e.g. this", "for example this"),
    ("i.e. that", "that is that"),
    ("apples, pears, etc.", "apples, pears, et cetera."),
    ("Lakers vs. Celtics", "Lakers versus Celtics"),
    ("approx. 5 kWh", "approximately five kilowatt hours"),
    ("min 5 max 30", "minimum five maximum thirty"),
    ("Max: 25 °C", "Maximum: twenty-five degrees Celsius"),
    ("No. 5", "Number five"),
    ("w/ cheese", "with cheese"),
]

EN_ADDRESSES_SYMBOLS = [
    ("https://www.home-assistant.io/docs", "home dash assistant dot io slash docs"),
    ("Visit home-assistant.io.", "Visit home dash assistant dot io."),
    ("See https://example.com/a/b?x=1#top, ok", "See example dot com slash a slash b, ok"),
    ("http://homeassistant.local:8123/",
     "homeassistant dot local colon eight thousand one hundred twenty-three"),
    ("john.doe@example.com", "john dot doe at example dot com"),
    ("mail a_b@mail.example.co.uk!", "mail a underscore b at mail dot example dot co dot uk!"),
    ("Tom & Jerry", "Tom and Jerry"),
    ("R&D", "R and D"),
    ("@home", "at home"),
    ("#5", "number five"),
    ("2+2=4", "two plus two equals four"),
    ("x = 5", "x equals five"),
    ("~5 min", "about five minutes"),
    ("±2 °C", "plus or minus two degrees Celsius"),
    ("3×4", "three times four"),
    ("C++ code", "C++ code"),
]

EN_SENTENCES = [
    ("The temperature is 21.5 °C and humidity is 45%.",
     "The temperature is twenty-one point five degrees Celsius and humidity is forty-five percent."),
    ("Today you used 12.4 kWh, costing $3.10.",
     "Today you used twelve point four kilowatt hours, costing three dollars and ten cents."),
    ("Your alarm is set for 6:30 AM on Nov 24.",
     "Your alarm is set for six thirty AM on November twenty-fourth."),
    ("It's 3 1/2 km away, about 10-15 min.",
     "It's three and a half kilometers away, about ten to fifteen minutes."),
]

EN_CASES = (EN_NUMBERS + EN_ORDINALS_FRACTIONS_RANGES + EN_PERCENT + EN_MONEY + EN_TIME
            + EN_DATES_YEARS + EN_PHONE + EN_UNITS + EN_ABBREVIATIONS + EN_ADDRESSES_SYMBOLS
            + EN_SENTENCES)


@pytest.mark.parametrize(("text", "expected"), check(EN_CASES))
def test_english(text, expected):
    assert normalize(text, "en-us") == expected


@pytest.mark.parametrize(("text", "expected"), check(EN_GB))
def test_british_english(text, expected):
    assert normalize(text, "en-gb") == expected


def test_date_order_override():
    assert normalize("01/02/2026", "en-us") == "January second, twenty twenty-six"
    assert normalize("01/02/2026", "en-us", date_order="dmy") == "February first, twenty twenty-six"
    assert normalize("01/02/2026", "es", date_order="mdy") == "dos de enero de dos mil veintiséis"


# ---------------------------------------------------------------------------
# Spanish
# ---------------------------------------------------------------------------

ES_CASES = [
    ("21,5", "veintiuno coma cinco"),
    ("3,14", "tres coma catorce"),
    ("0,05", "cero coma cero cinco"),
    ("1.000", "mil"),
    ("1.234.567", "un millón doscientos treinta y cuatro mil quinientos sesenta y siete"),
    ("21.000", "veintiún mil"),
    ("-5", "menos cinco"),
    ("85 %", "ochenta y cinco por ciento"),
    ("85%", "ochenta y cinco por ciento"),
    ("12 €", "doce euros"),
    ("12,50 €", "doce euros con cincuenta céntimos"),
    ("1 €", "un euro"),
    ("21 €", "veintiún euros"),
    ("$5", "cinco dólares"),
    ("1.000.000 €", "un millón de euros"),
    ("15:30", "quince y treinta"),
    ("1:05", "una y cinco"),
    ("7:00", "siete en punto"),
    ("1º", "primero"),
    ("1.º", "primero"),
    ("1ª", "primera"),
    ("21ª", "vigésima primera"),
    ("1.er piso", "primer piso"),
    ("-5 °C", "menos cinco grados Celsius"),
    ("21,5 °C", "veintiuno coma cinco grados Celsius"),
    ("1 °C", "un grado Celsius"),
    ("21 °C", "veintiún grados Celsius"),
    ("1 h", "una hora"),
    ("2 h", "dos horas"),
    ("300 km", "trescientos kilómetros"),
    ("3/4 km", "tres cuartos de kilómetro"),
    ("máx. 30 °C", "máximo treinta grados Celsius"),
    ("24/11/2026", "veinticuatro de noviembre de dos mil veintiséis"),
    ("2026-11-24", "veinticuatro de noviembre de dos mil veintiséis"),
    ("5-10", "cinco a diez"),
    ("1/2", "un medio"),
    ("3/4", "tres cuartos"),
    ("Sr. García", "Señor García"),
    ("p. ej. esto", "por ejemplo esto"),
    ("nº 5", "número cinco"),
    ("+34 612 345 678", "más tres cuatro, seis uno dos, tres cuatro cinco, seis siete ocho"),
    ("La temperatura es de 21,5 °C y la humedad del 45 %.",
     "La temperatura es de veintiuno coma cinco grados Celsius y la humedad del "
     "cuarenta y cinco por ciento."),
]


@pytest.mark.parametrize(("text", "expected"), check(ES_CASES))
def test_spanish(text, expected):
    assert normalize(text, "es") == expected


# ---------------------------------------------------------------------------
# French
# ---------------------------------------------------------------------------

FR_CASES = [
    ("21,5", "vingt et un virgule cinq"),
    ("1 000", "mille"),
    ("1\u202f000", "mille"),
    ("1\u00a0000", "mille"),
    ("2 500 000", "deux millions cinq cent mille"),
    ("-5", "moins cinq"),
    ("85 %", "quatre-vingt-cinq pour cent"),
    ("12 €", "douze euros"),
    ("12,50 €", "douze euros et cinquante centimes"),
    ("1 €", "un euro"),
    ("1 000 000 €", "un million d'euros"),
    ("15h30", "quinze heures trente"),
    ("15:30", "quinze heures trente"),
    ("15 h 30", "quinze heures trente"),
    ("15h", "quinze heures"),
    ("1h05", "une heure cinq"),
    ("21 h", "vingt et une heures"),
    ("1er", "premier"),
    ("1re", "première"),
    ("1ère", "première"),
    ("2e", "deuxième"),
    ("2ème", "deuxième"),
    ("2nd", "second"),
    ("21e siècle", "vingt et unième siècle"),
    ("-5 °C", "moins cinq degrés Celsius"),
    ("1,5 °C", "un virgule cinq degré Celsius"),
    ("1 °C", "un degré Celsius"),
    ("24/11/2026", "vingt-quatre novembre deux mille vingt-six"),
    ("1/11/2026", "premier novembre deux mille vingt-six"),
    ("5-10", "cinq à dix"),
    ("1/2", "un demi"),
    ("3/4", "trois quarts"),
    ("M. Dupont", "Monsieur Dupont"),
    ("p. ex. ceci", "par exemple ceci"),
    ("n° 5", "numéro cinq"),
    ("06 12 34 56 78", "zéro six, un deux, trois quatre, cinq six, sept huit"),
    ("3/4 h", "trois quarts d'heure"),
    ("1 min", "une minute"),
    ("Il fait 21,5 °C, humidité 45 %.",
     "Il fait vingt et un virgule cinq degrés Celsius, humidité quarante-cinq pour cent."),
]


@pytest.mark.parametrize(("text", "expected"), check(FR_CASES))
def test_french(text, expected):
    assert normalize(text, "fr-fr") == expected


# ---------------------------------------------------------------------------
# Italian, Brazilian Portuguese, Hindi
# ---------------------------------------------------------------------------

IT_CASES = [
    ("21,5", "ventuno virgola cinque"),
    ("1.000", "mille"),
    ("85 %", "ottantacinque per cento"),
    ("12 €", "dodici euro"),
    ("1 €", "un euro"),
    ("12,50 €", "dodici euro e cinquanta centesimi"),
    ("15:30", "quindici e trenta"),
    ("1:30", "una e trenta"),
    ("1º", "primo"),
    ("1ª", "prima"),
    ("-5 °C", "meno cinque gradi Celsius"),
    ("1 °C", "un grado Celsius"),
    ("24/11/2026", "ventiquattro novembre duemilaventisei"),
    ("5-10", "cinque a dieci"),
    ("3/4", "tre quarti"),
]

PT_CASES = [
    ("21,5", "vinte e um vírgula cinco"),
    ("1.000", "mil"),
    ("85%", "oitenta e cinco por cento"),
    ("R$ 5,30", "cinco reais e trinta centavos"),
    ("R$ 1,00", "um real"),
    ("R$ 2", "dois reais"),
    ("15:30", "quinze e trinta"),
    ("15h30", "quinze e trinta"),
    ("15h", "quinze horas"),
    ("2:15", "duas e quinze"),
    ("1º", "primeiro"),
    ("1ª", "primeira"),
    ("-5 °C", "menos cinco graus Celsius"),
    ("2 h", "duas horas"),
    ("24/11/2026", "vinte e quatro de novembro de dois mil e vinte e seis"),
    ("1/2", "um meio"),
]

HI_CASES = [
    ("21.5", "इक्कीस दशमलव पाँच"),
    ("85%", "पचासी प्रतिशत"),
    ("₹500", "पाँच सौ रुपये"),
    ("₹1", "एक रुपया"),
    ("15:30", "पंद्रह बजकर तीस मिनट"),
    ("7:00", "सात बजे"),
    ("-5 °C", "माइनस पाँच डिग्री सेल्सियस"),
    ("1,00,000", "एक लाख"),
    ("१२३", "एक सौ तेईस"),
    ("12345678", "एक करोड़ तेईस लाख पैंतालीस हज़ार छह सौ अठहत्तर"),
    ("5-10", "पाँच से दस"),
    ("3/4", "तीन चौथाई"),
]


@pytest.mark.parametrize(("text", "expected"), check(IT_CASES))
def test_italian(text, expected):
    assert normalize(text, "it") == expected


@pytest.mark.parametrize(("text", "expected"), check(PT_CASES))
def test_portuguese(text, expected):
    assert normalize(text, "pt-br") == expected


@pytest.mark.parametrize(("text", "expected"), check(HI_CASES))
def test_hindi(text, expected):
    assert normalize(text, "hi") == expected


@pytest.mark.parametrize("lang", ["ja", "zh", "xx", ""])
def test_other_languages_only_clean_up(lang):
    assert normalize("**太字** 123 😀\n- 5 km", lang) == "太字 123. 5 km"


@pytest.mark.parametrize(("lang", "expected"), [
    ("EN_US", "forty-two"), ("en", "forty-two"), ("pt-BR", "quarenta e dois"),
    ("fr", "quarante-deux"), ("es-MX", "cuarenta y dos"),
])
def test_language_codes_are_lenient(lang, expected):
    assert normalize("42", lang) == expected


# ---------------------------------------------------------------------------
# Markdown, emoji, inline phonemes
# ---------------------------------------------------------------------------

MARKDOWN_CASES = [
    ("**bold** and *italic*", "bold and italic"),
    ("__under__ and _it_ and snake_case_name", "under and it and snake_case_name"),
    ("~~gone~~ kept", "gone kept"),
    ("Run `light.turn_on` now", "Run light dot turn on now"),  # an entity id, not a full stop
    ("# Weather\nIt is sunny.", "Weather. It is sunny."),
    ("## Summary:\n- Lights: on\n- Heat: 21 °C",
     "Summary: Lights: on. Heat: twenty-one degrees Celsius"),
    ("- one\n- two\n- three", "one. two. three"),
    ("1. First\n2. Second", "First. Second"),
    ("* star\n+ plus", "star. plus"),
    ("- [ ] todo\n- [x] done", "todo. done"),
    ("> quoted text", "quoted text"),
    ("This is a long\nsentence that wraps.", "This is a long sentence that wraps."),
    ("Before\n```python\nprint(1)\n```\nAfter", "Before. After"),
    ("Before\n```python\nx = 1\nprint(x)", "Before"),  # never closed: code to the end
    ("See [the docs](https://x.io/docs \"Docs\").", "See the docs."),
    ("![a cat](cat.png) here", "a cat here"),
    ("a\n\n---\n\nb", "a. b"),
    ("| Room | Temp |\n|------|------|\n| Kitchen | 21.5 °C |",
     "Room, Temp. Kitchen, twenty-one point five degrees Celsius"),
    ("Room | Temp\n--- | ---\nBath | 19 °C", "Room, Temp. Bath, nineteen degrees Celsius"),
    ("Title\n=====\nBody", "Title. Body"),
    ("Done.\nNext", "Done. Next"),
    ("\"Quoted.\"\nNext", "\"Quoted.\" Next"),
    ("a &amp; b", "a and b"),
    ("line<br>break", "line break"),
    ("5 * 3 * 2", "five * three * two"),
]

EMOJI_CASES = [
    ("Hello 👋 world ✅.", "Hello world."),
    ("Lights on 💡", "Lights on"),
    ("👨‍👩‍👧 family", "family"),
    ("👍🏽 ok", "ok"),
    ("❤️ love", "love"),
    ("🇺🇸 flag", "flag"),
    ("Done! ✅\nNext line", "Done! Next line"),
    ("Keep © and ° and ℹ", "Keep © and ° and ℹ"),
]


@pytest.mark.parametrize(("text", "expected"), check(MARKDOWN_CASES + EMOJI_CASES))
def test_markdown_and_emoji(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize("text", [
    "[Kokoro](/kˈOkəɹO/)",
    "Say [Kokoro](/kˈOkəɹO/) 5 times",
    "[x5](/1 2.5% $3/) and **bold**",
    "- Use [1](/wʌn/).",
])
def test_inline_phonemes_preserved(text):
    for lang in LANGS:
        out = normalize(text, lang)
        for construct in ("[Kokoro](/kˈOkəɹO/)", "[x5](/1 2.5% $3/)", "[1](/wʌn/)"):
            if construct in text:
                assert construct in out, (lang, out)


def test_inline_phonemes_exact_output():
    assert normalize("Say [Kokoro](/kˈOkəɹO/) 5 times") == "Say [Kokoro](/kˈOkəɹO/) five times"
    # an ordinary link is still flattened to its text
    assert normalize("[Kokoro](https://x.io/k)") == "Kokoro"


# ---------------------------------------------------------------------------
# Rule switching and unknown tokens
# ---------------------------------------------------------------------------

DISABLED_CASES = [
    ("emoji", "Hi 😀 there", "Hi 😀 there"),
    ("markdown", "**bold** text", "**bold** text"),
    ("emails", "a.b@example.com", "a.b@example.com"),
    ("urls", "see https://example.com/x", "see https://example.com/x"),
    ("abbreviations", "Dr. Smith", "Dr. Smith"),
    ("symbols", "R&D", "R&D"),
    ("money", "$5.30", "$5.30"),
    ("phone", "555-123-4567", "555-123-4567"),
    ("date", "2026-11-24", "2026-11-24"),
    ("time", "3:45 PM", "3:45 PM"),
    ("percent", "85%", "85%"),
    ("units", "5 kWh", "5 kWh"),
    ("years", "in 1999", "in 1999"),
    ("ordinals", "1st", "1st"),
    ("fractions", "1/2", "1/2"),
    ("ranges", "5-10", "5-10"),
    ("numbers", "42", "42"),
]


def test_every_rule_has_a_disabled_case():
    assert sorted(rule for rule, _, _ in DISABLED_CASES) == sorted(RULES)


@pytest.mark.parametrize(("rule", "text", "expected"), DISABLED_CASES)
def test_disabled_rule_leaves_its_token(rule, text, expected):
    assert normalize(text, disabled=[rule]) == expected
    assert normalize(text) != expected  # and the rule does act when enabled


def test_disabled_rule_does_not_disable_others():
    assert normalize("$5 and 42", disabled={"money"}) == "$5 and forty-two"
    assert normalize("5 kWh, 85%", disabled=("units",)) == "5 kWh, eighty-five percent"
    assert normalize("It is 21,5 °C", "es", disabled=["units"]) == "It is 21,5 °C"
    assert normalize("", disabled=RULES) == ""


def test_unknown_rule_names_are_ignored():
    assert normalize("42", disabled=["nonsense"]) == "forty-two"


UNKNOWN_TOKENS = [
    "x2", "3D", "4K", "mp3", "A1B2", "foo_bar", "#hashtag", "°C", "%", "$", "1,2,3",
    "ÆØÅ", "Ω", "→", "∑", "東京", "🙂🙂", "---", "...", "?!", "kWh", "M.", "C++", "a/b",
]


@pytest.mark.parametrize("token", UNKNOWN_TOKENS)
def test_unknown_tokens_are_kept(token):
    out = normalize(f"before {token} after")
    assert out.startswith("before ") and out.endswith(" after") or token in ("🙂🙂", "---")
    if token not in ("🙂🙂", "---", "..."):
        assert token in out


PLAIN_PROSE = {
    "en-us": "Turn off the kitchen lights before Anna goes to bed tonight",
    "en-gb": "The garden sprinkler will run again tomorrow morning",
    "es": "La cocina está limpia y las luces del salón están apagadas",
    "fr": "Les volets du salon sont fermés et la porte est verrouillée",
    "it": "Le luci della cucina sono spente e la porta è chiusa",
    "pt-br": "As luzes da sala estão acesas e a porta está trancada",
    "hi": "रसोई की बत्तियाँ बंद हैं और दरवाज़ा बंद है",
}


@pytest.mark.parametrize(("lang", "text"), PLAIN_PROSE.items())
def test_plain_prose_is_left_alone(lang, text):
    out = normalize(text, lang)
    assert out == text
    assert [w for w in text.split() if w.isalpha()] == [w for w in out.split() if w.isalpha()]


def test_whitespace_and_empty_input():
    assert normalize("") == ""
    assert normalize("   \n\t  ") == ""
    assert normalize("  many   spaces\there  ") == "many spaces here"
    assert normalize("a\u200bb\u00adc") == "abc"


def test_non_string_input_does_not_raise():
    assert normalize(None) == ""  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

@contextlib.contextmanager
def no_rule_fails():
    """A rule that raises is skipped and logged, so `normalize` itself never
    raises: make any such failure fail the test instead."""
    def fail(rule, error):
        raise AssertionError(f"rule {rule!r} raised {error!r}")

    with mock.patch.object(normalize_context, "report", fail), mock.patch.object(normalize_package, "report", fail):
        yield


if st is None:

    @pytest.mark.skip(reason="hypothesis is not installed")
    def test_properties_need_hypothesis():
        pass

else:

    rule_sets = st.lists(st.sampled_from(RULES), max_size=4)

    @settings(max_examples=400, deadline=None)
    @given(text=st.text(max_size=80), lang=st.sampled_from(LANGS), disabled=rule_sets,
           order=st.sampled_from([None, "mdy", "dmy"]))
    def test_never_raises_and_never_pads(text, lang, disabled, order):
        with no_rule_fails():
            out = normalize(text, lang, disabled=disabled, date_order=order)
        assert isinstance(out, str)
        assert out == out.strip()

    symbolic = st.text(alphabet="0123456789 .,:-–/+%$€£¢#@&*_~|[]()`>\n°ºª½kmWhVACF", max_size=40)

    @settings(max_examples=400, deadline=None)
    @given(text=symbolic, lang=st.sampled_from(LANGS))
    def test_never_raises_on_number_soup(text, lang):
        with no_rule_fails():
            out = normalize(text, lang)
        assert out == out.strip()
        assert "  " not in out

    TITLES = {"Mr", "Mrs", "Ms", "Dr", "St", "Prof", "Mt"}  # abbreviations, not plain words
    words = st.lists(
        st.text(alphabet=st.characters(categories=["Lu", "Ll", "Lo"]), min_size=1, max_size=12)
        .filter(lambda w: w not in TITLES),
        min_size=1, max_size=12,
    )

    @settings(max_examples=300, deadline=None)
    @given(words=words, lang=st.sampled_from(LANGS))
    def test_plain_words_survive(words, lang):
        text = " ".join(words)
        out = normalize(text, lang)
        for word in words:
            assert unicodedata.normalize("NFC", word) in out

    @settings(max_examples=200, deadline=None)
    @given(words=st.lists(st.from_regex(r"[a-z]{1,12}", fullmatch=True), min_size=1, max_size=15))
    def test_lowercase_prose_is_unchanged(words):
        text = " ".join(words)
        assert normalize(text) == text


def test_a_rule_that_raises_is_logged_once_and_skipped(monkeypatch, caplog):
    """One broken rule must not switch off the others (it used to return the raw text, silently)."""
    import wyoming_kokoro.normalize.money as money

    def broken(text, c):
        raise RuntimeError("boom")

    pipeline = tuple((name, broken if name == "money" else rule, lang)
                     for name, rule, lang in normalize_package._PIPELINE)
    monkeypatch.setattr(normalize_package, "_PIPELINE", pipeline)
    monkeypatch.setattr(normalize_context, "_reported", set())
    caplog.set_level(logging.WARNING)
    assert money  # the real rule is replaced for this test only
    for _ in range(3):
        assert normalize("It costs $5 and 21 °C at 3:45 PM.") == (
            "It costs $five and twenty-one degrees Celsius at three forty-five PM.")
    assert caplog.text.count("'money' failed") == 1 and "boom" in caplog.text


def test_a_match_that_raises_leaves_that_token_and_is_logged(monkeypatch, caplog):
    import wyoming_kokoro.normalize.measures as measures

    def broken(m, L):
        raise ValueError("bad unit")

    monkeypatch.setattr(measures, "_unit_words", broken)
    monkeypatch.setattr(normalize_context, "_reported", set())
    caplog.set_level(logging.WARNING)
    assert normalize("5 km in 3 days") == "five km in three days"
    assert "'units' failed (ValueError: bad unit)" in caplog.text
