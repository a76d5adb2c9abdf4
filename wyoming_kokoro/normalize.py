"""Turn written text into speakable words before phonemisation.

espeak-ng (and so Kokoro) reads what it is given: "21.5 °C" comes out as a
string of digits and symbol names, "$5.30" as "dollar five point three zero",
and a chat model's ``**bold**`` or a table pipe as noise or silence. Home
Assistant answers are full of exactly these things, so before the text reaches
the phonemiser we rewrite numbers, units, money, dates, times, addresses and
markdown into the words a person would say.

Design, and why:

* One ordered pipeline (``_PIPELINE``). Order matters: specific patterns must
  claim their digits before general ones do ("$5.30" before "5.30", a phone
  number before a range, a date before a fraction). ``RULES`` lists the
  switchable rules in that order.
* Every rule that rewrites tokens goes through ``_Ctx.sub``. When a rule is
  disabled, the spans it *would* have rewritten are sealed in a placeholder
  instead, so later, more general rules cannot half-convert them: "$5" stays
  "$5" with money off, rather than becoming "$five".
* Kokoro's inline phoneme syntax ``[word](/phonemes/)`` is sealed the same way
  before anything else runs, so no rule (markdown links included) touches it.
* Nothing raises: each match is converted under a guard that leaves the
  original text on any error, and ``normalize`` itself falls back to plain
  whitespace cleanup. Unknown tokens are always left as they are; espeak-ng
  still gets a chance to read them.
* Number words come from num2words, except Hindi, which num2words lacks, so a
  small Indian-system table lives here.

Markdown code fences are dropped with their contents: code read aloud is
noise, and an assistant's spoken answer never depends on it.
"""

from __future__ import annotations

import datetime as _dt
import html
import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import cache

from num2words import num2words as _num2words

__all__ = ["RULES", "normalize"]

RULES: tuple[str, ...] = (
    "emoji",
    "markdown",
    "emails",
    "urls",
    "abbreviations",
    "symbols",
    "money",
    "phone",
    "date",
    "time",
    "percent",
    "units",
    "years",
    "ordinals",
    "fractions",
    "ranges",
    "numbers",
)
"""Names of the rules ``normalize(disabled=...)`` accepts, in pipeline order."""

# ---------------------------------------------------------------------------
# Language tables
# ---------------------------------------------------------------------------

_WORD_KEYS = (
    "point minus plus percent to and at number equals about dot slash dash "
    "underscore colon plusminus times money_and of"
).split()

_WORDS: dict[str, tuple[str, ...]] = {
    # point, minus, plus, percent, to, and, at, number, equals, about,
    # dot, slash, dash, underscore, colon, plusminus, times, money_and, of
    "en": ("point", "minus", "plus", "percent", "to", "and", "at", "number", "equals",
           "about", "dot", "slash", "dash", "underscore", "colon", "plus or minus",
           "times", "and", ""),
    "es": ("coma", "menos", "más", "por ciento", "a", "y", "arroba", "número", "igual a",
           "aproximadamente", "punto", "barra", "guion", "guion bajo", "dos puntos",
           "más o menos", "por", "con", "de"),
    "fr": ("virgule", "moins", "plus", "pour cent", "à", "et", "arobase", "numéro", "égale",
           "environ", "point", "slash", "tiret", "tiret bas", "deux-points",
           "plus ou moins", "fois", "et", "de"),
    "it": ("virgola", "meno", "più", "per cento", "a", "e", "chiocciola", "numero", "uguale a",
           "circa", "punto", "barra", "trattino", "trattino basso", "due punti",
           "più o meno", "per", "e", "di"),
    "pt": ("vírgula", "menos", "mais", "por cento", "a", "e", "arroba", "número", "igual a",
           "cerca de", "ponto", "barra", "hífen", "underline", "dois pontos",
           "mais ou menos", "vezes", "e", "de"),
    "hi": ("दशमलव", "माइनस", "प्लस", "प्रतिशत", "से", "और", "एट", "नंबर", "बराबर",
           "लगभग", "डॉट", "स्लैश", "डैश", "अंडरस्कोर", "कोलन", "प्लस माइनस",
           "गुणा", "और", ""),
}

_MONTHS: dict[str, tuple[str, ...]] = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
    "it": ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio",
           "agosto", "settembre", "ottobre", "novembre", "dicembre"),
    "pt": ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
           "setembro", "outubro", "novembro", "dezembro"),
    "hi": ("जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त",
           "सितंबर", "अक्टूबर", "नवंबर", "दिसंबर"),
}

# Currency names: (singular, plural, sub-unit singular, sub-unit plural).
# A leading "f:" marks a feminine noun so number words agree ("una libra").
_CURRENCIES: dict[str, dict[str, tuple[str, str, str, str]]] = {
    "en": {"USD": ("dollar", "dollars", "cent", "cents"),
           "EUR": ("euro", "euros", "cent", "cents"),
           "GBP": ("pound", "pounds", "penny", "pence"),
           "JPY": ("yen", "yen", "", ""),
           "INR": ("rupee", "rupees", "paisa", "paise"),
           "BRL": ("real", "reais", "centavo", "centavos")},
    "es": {"USD": ("dólar", "dólares", "centavo", "centavos"),
           "EUR": ("euro", "euros", "céntimo", "céntimos"),
           "GBP": ("f:libra", "libras", "penique", "peniques"),
           "JPY": ("yen", "yenes", "", ""),
           "INR": ("f:rupia", "rupias", "paisa", "paisas"),
           "BRL": ("real", "reales", "centavo", "centavos")},
    "fr": {"USD": ("dollar", "dollars", "cent", "cents"),
           "EUR": ("euro", "euros", "centime", "centimes"),
           "GBP": ("f:livre", "livres", "penny", "pence"),
           "JPY": ("yen", "yens", "", ""),
           "INR": ("f:roupie", "roupies", "paisa", "paise"),
           "BRL": ("réal", "reais", "centavo", "centavos")},
    "it": {"USD": ("dollaro", "dollari", "centesimo", "centesimi"),
           "EUR": ("euro", "euro", "centesimo", "centesimi"),
           "GBP": ("f:sterlina", "sterline", "penny", "pence"),
           "JPY": ("yen", "yen", "", ""),
           "INR": ("f:rupia", "rupie", "paisa", "paise"),
           "BRL": ("real", "real", "centavo", "centavos")},
    "pt": {"USD": ("dólar", "dólares", "centavo", "centavos"),
           "EUR": ("euro", "euros", "centavo", "centavos"),
           "GBP": ("f:libra", "libras", "pêni", "pence"),
           "JPY": ("iene", "ienes", "", ""),
           "INR": ("f:rupia", "rupias", "paisa", "paisas"),
           "BRL": ("real", "reais", "centavo", "centavos")},
    "hi": {"USD": ("डॉलर", "डॉलर", "सेंट", "सेंट"),
           "EUR": ("यूरो", "यूरो", "सेंट", "सेंट"),
           "GBP": ("पाउंड", "पाउंड", "पेंस", "पेंस"),
           "JPY": ("येन", "येन", "", ""),
           "INR": ("रुपया", "रुपये", "पैसा", "पैसे"),
           "BRL": ("रियाल", "रियाल", "", "")},
}

_CURRENCY_SYMBOLS = {
    "R$": "BRL", "US$": "USD", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR",
    "USD": "USD", "EUR": "EUR", "GBP": "GBP", "JPY": "JPY", "INR": "INR", "BRL": "BRL",
    "Rs.": "INR", "Rs": "INR",
}

# Units: surface forms -> per-language "singular|plural" ("f:" = feminine noun).
# Only units that follow a number are read, so "m" in "I'm" is never touched.
_UNIT_TABLE: tuple[tuple[tuple[str, ...], dict[str, str]], ...] = (
    (("°C", "℃", "ºC", "° C"), {
        "en": "degree Celsius|degrees Celsius", "es": "grado Celsius|grados Celsius",
        "fr": "degré Celsius|degrés Celsius", "it": "grado Celsius|gradi Celsius",
        "pt": "grau Celsius|graus Celsius", "hi": "डिग्री सेल्सियस|डिग्री सेल्सियस"}),
    (("°F", "℉", "ºF", "° F"), {
        "en": "degree Fahrenheit|degrees Fahrenheit",
        "es": "grado Fahrenheit|grados Fahrenheit", "fr": "degré Fahrenheit|degrés Fahrenheit",
        "it": "grado Fahrenheit|gradi Fahrenheit", "pt": "grau Fahrenheit|graus Fahrenheit",
        "hi": "डिग्री फ़ारेनहाइट|डिग्री फ़ारेनहाइट"}),
    (("°",), {
        "en": "degree|degrees", "es": "grado|grados", "fr": "degré|degrés",
        "it": "grado|gradi", "pt": "grau|graus", "hi": "डिग्री|डिग्री"}),
    (("kWh", "kwh", "KWh", "Kwh"), {
        "en": "kilowatt hour|kilowatt hours", "es": "kilovatio hora|kilovatios hora",
        "fr": "kilowattheure|kilowattheures", "it": "chilowattora|chilowattora",
        "pt": "quilowatt-hora|quilowatts-hora", "hi": "किलोवाट घंटा|किलोवाट घंटे"}),
    (("MWh",), {"en": "megawatt hour|megawatt hours"}),
    (("Wh",), {
        "en": "watt hour|watt hours", "es": "vatio hora|vatios hora",
        "fr": "wattheure|wattheures", "it": "wattora|wattora", "pt": "watt-hora|watts-hora",
        "hi": "वाट घंटा|वाट घंटे"}),
    (("mAh",), {"en": "milliamp hour|milliamp hours", "es": "miliamperio hora|miliamperios hora"}),
    (("W/m²", "W/m2"), {"en": "watt per square meter|watts per square meter"}),
    (("kW",), {
        "en": "kilowatt|kilowatts", "es": "kilovatio|kilovatios", "fr": "kilowatt|kilowatts",
        "it": "chilowatt|chilowatt", "pt": "quilowatt|quilowatts", "hi": "किलोवाट|किलोवाट"}),
    (("MW",), {"en": "megawatt|megawatts"}),
    (("W",), {
        "en": "watt|watts", "es": "vatio|vatios", "fr": "watt|watts", "it": "watt|watt",
        "pt": "watt|watts", "hi": "वाट|वाट"}),
    (("V",), {
        "en": "volt|volts", "es": "voltio|voltios", "fr": "volt|volts", "it": "volt|volt",
        "pt": "volt|volts", "hi": "वोल्ट|वोल्ट"}),
    (("mA",), {
        "en": "milliamp|milliamps", "es": "miliamperio|miliamperios",
        "fr": "milliampère|milliampères", "it": "milliampere|milliampere",
        "pt": "miliampère|miliampères", "hi": "मिलीएम्पियर|मिलीएम्पियर"}),
    (("A",), {
        "en": "amp|amps", "es": "amperio|amperios", "fr": "ampère|ampères",
        "it": "ampere|ampere", "pt": "ampère|ampères", "hi": "एम्पियर|एम्पियर"}),
    (("km/h", "kmh", "kph", "km/hr"), {
        "en": "kilometer per hour|kilometers per hour",
        "es": "kilómetro por hora|kilómetros por hora",
        "fr": "kilomètre par heure|kilomètres par heure",
        "it": "chilometro all'ora|chilometri all'ora",
        "pt": "quilômetro por hora|quilômetros por hora",
        "hi": "किलोमीटर प्रति घंटा|किलोमीटर प्रति घंटा"}),
    (("mph",), {"en": "mile per hour|miles per hour", "es": "f:milla por hora|millas por hora"}),
    (("m/s",), {
        "en": "meter per second|meters per second", "es": "metro por segundo|metros por segundo",
        "fr": "mètre par seconde|mètres par seconde", "it": "metro al secondo|metri al secondo",
        "pt": "metro por segundo|metros por segundo", "hi": "मीटर प्रति सेकंड|मीटर प्रति सेकंड"}),
    (("m³/h", "m3/h"), {"en": "cubic meter per hour|cubic meters per hour"}),
    (("L/min", "l/min"), {"en": "liter per minute|liters per minute"}),
    (("µg/m³", "μg/m³", "ug/m3", "µg/m3", "μg/m3", "ug/m³"), {
        "en": "microgram per cubic meter|micrograms per cubic meter",
        "es": "microgramo por metro cúbico|microgramos por metro cúbico",
        "fr": "microgramme par mètre cube|microgrammes par mètre cube",
        "it": "microgrammo per metro cubo|microgrammi per metro cubo",
        "pt": "f:micrograma por metro cúbico|microgramas por metro cúbico",
        "hi": "माइक्रोग्राम प्रति घन मीटर|माइक्रोग्राम प्रति घन मीटर"}),
    (("m²", "m2", "sqm"), {
        "en": "square meter|square meters", "es": "metro cuadrado|metros cuadrados",
        "fr": "mètre carré|mètres carrés", "it": "metro quadrato|metri quadrati",
        "pt": "metro quadrado|metros quadrados", "hi": "वर्ग मीटर|वर्ग मीटर"}),
    (("m³", "m3"), {
        "en": "cubic meter|cubic meters", "es": "metro cúbico|metros cúbicos",
        "fr": "mètre cube|mètres cubes", "it": "metro cubo|metri cubi",
        "pt": "metro cúbico|metros cúbicos", "hi": "घन मीटर|घन मीटर"}),
    (("mm",), {
        "en": "millimeter|millimeters", "es": "milímetro|milímetros", "fr": "millimètre|millimètres",
        "it": "millimetro|millimetri", "pt": "milímetro|milímetros", "hi": "मिलीमीटर|मिलीमीटर"}),
    (("cm",), {
        "en": "centimeter|centimeters", "es": "centímetro|centímetros",
        "fr": "centimètre|centimètres", "it": "centimetro|centimetri",
        "pt": "centímetro|centímetros", "hi": "सेंटीमीटर|सेंटीमीटर"}),
    (("km",), {
        "en": "kilometer|kilometers", "es": "kilómetro|kilómetros", "fr": "kilomètre|kilomètres",
        "it": "chilometro|chilometri", "pt": "quilômetro|quilômetros", "hi": "किलोमीटर|किलोमीटर"}),
    (("m",), {
        "en": "meter|meters", "es": "metro|metros", "fr": "mètre|mètres", "it": "metro|metri",
        "pt": "metro|metros", "hi": "मीटर|मीटर"}),
    (("ft",), {"en": "foot|feet"}),
    (("mi",), {"en": "mile|miles"}),
    (("kg",), {
        "en": "kilogram|kilograms", "es": "kilogramo|kilogramos", "fr": "kilogramme|kilogrammes",
        "it": "chilogrammo|chilogrammi", "pt": "quilograma|quilogramas", "hi": "किलोग्राम|किलोग्राम"}),
    (("mg",), {
        "en": "milligram|milligrams", "es": "miligramo|miligramos",
        "fr": "milligramme|milligrammes", "it": "milligrammo|milligrammi",
        "pt": "miligrama|miligramas", "hi": "मिलीग्राम|मिलीग्राम"}),
    (("g",), {
        "en": "gram|grams", "es": "gramo|gramos", "fr": "gramme|grammes", "it": "grammo|grammi",
        "pt": "grama|gramas", "hi": "ग्राम|ग्राम"}),
    (("lb", "lbs"), {
        "en": "pound|pounds", "es": "f:libra|libras", "fr": "f:livre|livres",
        "it": "f:libbra|libbre", "pt": "f:libra|libras"}),
    (("oz",), {"en": "ounce|ounces"}),
    (("hPa",), {
        "en": "hectopascal|hectopascals", "es": "hectopascal|hectopascales",
        "fr": "hectopascal|hectopascals", "it": "ettopascal|ettopascal",
        "pt": "hectopascal|hectopascais", "hi": "हेक्टोपास्कल|हेक्टोपास्कल"}),
    (("kPa",), {"en": "kilopascal|kilopascals"}),
    (("mbar",), {
        "en": "millibar|millibars", "es": "milibar|milibares", "fr": "millibar|millibars",
        "it": "millibar|millibar", "pt": "milibar|milibares", "hi": "मिलीबार|मिलीबार"}),
    (("bar",), {"en": "bar|bar"}),
    (("psi",), {"en": "P S I|P S I"}),
    (("ppm",), {
        "en": "part per million|parts per million", "es": "f:parte por millón|partes por millón",
        "fr": "f:partie par million|parties par million",
        "it": "f:parte per milione|parti per milione", "pt": "f:parte por milhão|partes por milhão",
        "hi": "पार्ट्स पर मिलियन|पार्ट्स पर मिलियन"}),
    (("ppb",), {"en": "part per billion|parts per billion"}),
    (("dBm",), {"en": "decibel milliwatt|decibel milliwatts"}),
    (("dB",), {
        "en": "decibel|decibels", "es": "decibelio|decibelios", "fr": "décibel|décibels",
        "it": "decibel|decibel", "pt": "decibel|decibéis", "hi": "डेसिबल|डेसिबल"}),
    (("ml", "mL"), {
        "en": "milliliter|milliliters", "es": "mililitro|mililitros", "fr": "millilitre|millilitres",
        "it": "millilitro|millilitri", "pt": "mililitro|mililitros", "hi": "मिलीलीटर|मिलीलीटर"}),
    (("L", "l"), {
        "en": "liter|liters", "es": "litro|litros", "fr": "litre|litres", "it": "litro|litri",
        "pt": "litro|litros", "hi": "लीटर|लीटर"}),
    (("TB",), {"en": "terabyte|terabytes", "es": "terabyte|terabytes", "fr": "téraoctet|téraoctets",
               "it": "terabyte|terabyte", "pt": "terabyte|terabytes"}),
    (("GB",), {"en": "gigabyte|gigabytes", "es": "gigabyte|gigabytes", "fr": "gigaoctet|gigaoctets",
               "it": "gigabyte|gigabyte", "pt": "gigabyte|gigabytes", "hi": "गीगाबाइट|गीगाबाइट"}),
    (("MB",), {"en": "megabyte|megabytes", "es": "megabyte|megabytes", "fr": "mégaoctet|mégaoctets",
               "it": "megabyte|megabyte", "pt": "megabyte|megabytes", "hi": "मेगाबाइट|मेगाबाइट"}),
    (("kB", "KB"), {"en": "kilobyte|kilobytes"}),
    (("Mbps", "Mbit/s"), {"en": "megabit per second|megabits per second"}),
    (("GHz",), {"en": "gigahertz|gigahertz", "es": "gigahercio|gigahercios",
                "fr": "gigahertz|gigahertz", "it": "gigahertz|gigahertz", "pt": "gigahertz|gigahertz"}),
    (("MHz",), {"en": "megahertz|megahertz", "es": "megahercio|megahercios",
                "fr": "mégahertz|mégahertz", "it": "megahertz|megahertz", "pt": "mega-hertz|mega-hertz"}),
    (("kHz",), {"en": "kilohertz|kilohertz", "es": "kilohercio|kilohercios",
                "fr": "kilohertz|kilohertz", "it": "kilohertz|kilohertz", "pt": "quilo-hertz|quilo-hertz"}),
    (("Hz",), {"en": "hertz|hertz", "es": "hercio|hercios", "fr": "hertz|hertz",
               "it": "hertz|hertz", "pt": "hertz|hertz", "hi": "हर्ट्ज़|हर्ट्ज़"}),
    (("h", "hr", "hrs"), {
        "en": "hour|hours", "es": "f:hora|horas", "fr": "f:heure|heures", "it": "f:ora|ore",
        "pt": "f:hora|horas", "hi": "घंटा|घंटे"}),
    (("min", "mins"), {
        "en": "minute|minutes", "es": "minuto|minutos", "fr": "f:minute|minutes",
        "it": "minuto|minuti", "pt": "minuto|minutos", "hi": "मिनट|मिनट"}),
    (("ms",), {
        "en": "millisecond|milliseconds", "es": "milisegundo|milisegundos",
        "fr": "f:milliseconde|millisecondes", "it": "millisecondo|millisecondi",
        "pt": "milissegundo|milissegundos", "hi": "मिलीसेकंड|मिलीसेकंड"}),
    (("s", "sec", "secs"), {
        "en": "second|seconds", "es": "segundo|segundos", "fr": "f:seconde|secondes",
        "it": "secondo|secondi", "pt": "segundo|segundos", "hi": "सेकंड|सेकंड"}),
    (("lx",), {"en": "lux|lux", "es": "lux|lux", "fr": "lux|lux", "it": "lux|lux", "pt": "lux|lux"}),
    (("lm",), {"en": "lumen|lumens"}),
    (("rpm",), {"en": "revolution per minute|revolutions per minute"}),
    (("kcal",), {"en": "kilocalorie|kilocalories", "es": "f:kilocaloría|kilocalorías",
                 "fr": "f:kilocalorie|kilocalories", "it": "f:chilocaloria|chilocalorie",
                 "pt": "f:quilocaloria|quilocalorias"}),
)

_UNITS: dict[str, dict[str, str]] = {
    alias: names for aliases, names in _UNIT_TABLE for alias in aliases
}
# Units that must be separated from the number by a space: "90s" is a decade
# and "5s" is more often "fives" than seconds.
_SPACED_UNITS = frozenset({"s", "secs", "mi", "bar", "l"})

_HI_NUMBERS = (
    "शून्य एक दो तीन चार पाँच छह सात आठ नौ दस ग्यारह बारह तेरह चौदह पंद्रह सोलह सत्रह "
    "अठारह उन्नीस बीस इक्कीस बाईस तेईस चौबीस पच्चीस छब्बीस सत्ताईस अट्ठाईस उनतीस तीस "
    "इकतीस बत्तीस तैंतीस चौंतीस पैंतीस छत्तीस सैंतीस अड़तीस उनतालीस चालीस इकतालीस बयालीस "
    "तैंतालीस चवालीस पैंतालीस छियालीस सैंतालीस अड़तालीस उनचास पचास इक्यावन बावन तिरेपन "
    "चौवन पचपन छप्पन सत्तावन अट्ठावन उनसठ साठ इकसठ बासठ तिरेसठ चौंसठ पैंसठ छियासठ सड़सठ "
    "अड़सठ उनहत्तर सत्तर इकहत्तर बहत्तर तिहत्तर चौहत्तर पचहत्तर छिहत्तर सतहत्तर अठहत्तर "
    "उन्यासी अस्सी इक्यासी बयासी तिरासी चौरासी पचासी छियासी सत्तासी अट्ठासी नवासी नब्बे "
    "इक्यानवे बानवे तिरानवे चौरानवे पचानवे छियानवे सत्तानवे अट्ठानवे निन्यानवे"
).split()
"""Hindi 0-99: irregular, so a table (num2words has no Hindi)."""

_HI_ORDINALS = {1: "पहला", 2: "दूसरा", 3: "तीसरा", 4: "चौथा", 6: "छठा"}


@dataclass(frozen=True)
class _Lang:
    """Everything language-specific the rules need, resolved once per code."""

    key: str  # en-us, en-gb, es, fr, it, pt, hi
    family: str  # en, es, fr, it, pt, hi
    n2w: str | None  # num2words language code (None: Hindi tables)
    w: dict[str, str] = field(hash=False, compare=False)
    months: tuple[str, ...] = field(hash=False, compare=False)


def _make_lang(key: str, family: str, n2w: str | None) -> _Lang:
    return _Lang(key, family, n2w, dict(zip(_WORD_KEYS, _WORDS[family])), _MONTHS[family])


_LANGS: dict[str, _Lang] = {
    "en-us": _make_lang("en-us", "en", "en"),
    "en-gb": _make_lang("en-gb", "en", "en"),
    "es": _make_lang("es", "es", "es"),
    "fr": _make_lang("fr", "fr", "fr"),
    "it": _make_lang("it", "it", "it"),
    "pt": _make_lang("pt", "pt", "pt_BR"),
    "hi": _make_lang("hi", "hi", None),
}


def _resolve_lang(lang: str) -> _Lang | None:
    """Map a voice language ("en-us", "pt-br", "fr-fr", "es_ES"...) to its tables.

    Anything else (ja, zh, unknown) gets None: only language-neutral cleanup.
    """
    code = (lang or "").strip().lower().replace("_", "-")
    if code in ("en-gb", "en-uk") or code.startswith(("en-gb-", "en-uk-")):
        return _LANGS["en-gb"]
    base = code.split("-")[0]
    if base == "en":
        return _LANGS["en-us"]
    return _LANGS.get({"es": "es", "fr": "fr", "it": "it", "pt": "pt", "hi": "hi"}.get(base, ""))


# ---------------------------------------------------------------------------
# Number words
# ---------------------------------------------------------------------------

_DIGIT_RE = re.compile(r"\d")
_ES_BEFORE_SCALE_RE = re.compile(r"\b(veinti)?uno(?= (?:mil|millón|millones|billón|billones)\b)")
_EN_AND_RE = re.compile(r"\band ")
_BIG_SCALE_RE = re.compile(
    r".*\b(?:millón|millones|billón|billones|million|millions|milliard|milliards|milione|"
    r"milioni|miliardo|miliardi|milhão|milhões|bilhão|bilhões)\b ?"
)


def _ascii_digits(s: str) -> str:
    """Map any Unicode decimal digit (Devanagari, Arabic-Indic...) to ASCII."""
    return _DIGIT_RE.sub(lambda m: str(unicodedata.decimal(m.group(), 0)), s)


def _hi_cardinal(n: int) -> str:
    """Hindi cardinal in the Indian system (hazaar, lakh, crore)."""
    if n < 100:
        return _HI_NUMBERS[n]
    parts: list[str] = []
    crore, n = divmod(n, 10**7)
    if crore:
        parts += [_hi_cardinal(crore), "करोड़"]
    for size, name in ((10**5, "लाख"), (1000, "हज़ार"), (100, "सौ")):
        count, n = divmod(n, size)
        if count:
            parts += [_HI_NUMBERS[count], name]
    if n:
        parts.append(_HI_NUMBERS[n])
    return " ".join(parts)


def _tidy(words: str, L: _Lang) -> str:
    """Clean num2words output: commas would become pauses; en-us drops "and"."""
    words = words.replace(",", "")
    if L.key == "en-us":
        words = _EN_AND_RE.sub("", words)
    if L.family == "es":  # num2words says "veintiuno mil"; Spanish says "veintiún mil"
        words = _ES_BEFORE_SCALE_RE.sub(lambda m: "veintiún" if m.group(1) else "un", words)
    return words


def _cardinal(n: int, L: _Lang) -> str:
    if L.n2w is None:
        return _hi_cardinal(n)
    return _tidy(_num2words(n, lang=L.n2w), L)


def _ordinal(n: int, L: _Lang) -> str:
    if L.n2w is None:
        return _HI_ORDINALS.get(n) or _hi_cardinal(n) + "वाँ"
    return _tidy(_num2words(n, lang=L.n2w, to="ordinal"), L)


def _year(n: int, L: _Lang) -> str:
    """English years pair their digits ("nineteen ninety-nine"); others are cardinals."""
    if L.family != "en":
        return _cardinal(n, L)
    return _tidy(_num2words(n, lang="en", to="year"), L).replace("oh-", "oh ")


def _digits(s: str, L: _Lang) -> str:
    """Digit by digit, for phone numbers, leading zeros and long decimals."""
    return " ".join(_cardinal(int(ch), L) for ch in _ascii_digits(s) if ch.isdigit())


def _say_int(int_str: str, L: _Lang) -> str:
    int_str = _ascii_digits(int_str)
    if not int_str:
        return _cardinal(0, L)
    if (len(int_str) > 1 and int_str[0] == "0") or len(int_str) > 15:
        return _digits(int_str, L)
    return _cardinal(int(int_str), L)


def _say_frac(frac: str, L: _Lang) -> str:
    """Decimals after the separator: English reads digits; Romance languages
    read short parts as a number ("tres coma catorce")."""
    frac = _ascii_digits(frac)
    if L.family in ("es", "fr", "it", "pt") and len(frac) <= 2 and frac[0] != "0":
        return _cardinal(int(frac), L)
    return _digits(frac, L)


def _say_number(int_str: str, frac: str, L: _Lang, sign: str = "") -> str:
    words = _say_int(int_str, L)
    if frac:
        words += f" {L.w['point']} {_say_frac(frac, L)}"
    if sign in ("-", "−"):
        words = f"{L.w['minus']} {words}"
    elif sign == "+":
        words = f"{L.w['plus']} {words}"
    return words


def _agree(words: str, L: _Lang, feminine: bool) -> str:
    """Make number words agree with the noun after them.

    Spanish shortens "uno" before a masculine noun ("veintiún grados"); Romance
    feminine nouns change "uno/un/um/dois" ("una hora", "duas horas"). Only the
    tail after "million" changes: "un millón de libras" keeps "un".
    """
    head_m = _BIG_SCALE_RE.match(words)
    head, tail = (words[: head_m.end()], words[head_m.end():]) if head_m else ("", words)
    fam = L.family
    if fam == "es":
        if feminine:
            tail = re.sub(r"\b(veinti)?(?:uno|ún|un)\b", lambda m: (m.group(1) or "") + "una", tail)
            tail = re.sub(r"ientos\b", "ientas", tail)
        else:
            tail = re.sub(r"\bveintiuno$", "veintiún", tail)
            tail = re.sub(r"\buno$", "un", tail)
    elif fam == "it":
        if tail == "uno":
            tail = "una" if feminine else "un"
    elif fam == "fr" and feminine:
        tail = re.sub(r"\bun\b", "une", tail)
    elif fam == "pt" and feminine:
        tail = re.sub(r"\bum\b", "uma", tail)
        tail = re.sub(r"\bdois\b", "duas", tail)
        tail = re.sub(r"entos\b", "entas", tail)
    return head + tail


def _parse_num(s: str, L: _Lang) -> tuple[str, str]:
    """Split a written number into (integer digits, fraction digits) by locale."""
    s = _ascii_digits(s)
    s = s.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if L.family in ("en", "hi"):
        int_str, _, frac = s.replace(",", "").partition(".")
        return int_str, frac
    if "," in s:
        int_str, _, frac = s.partition(",")
        return int_str.replace(".", ""), frac
    if _DOT_THOUSANDS_RE.fullmatch(s):
        return s.replace(".", ""), ""
    int_str, _, frac = s.partition(".")
    return int_str, frac


_DOT_THOUSANDS_RE = re.compile(r"\d{1,3}(?:\.\d{3})+")


def _num_value(int_str: str, frac: str) -> float:
    try:
        return float(f"{int(int_str or 0)}.{frac or 0}")
    except (ValueError, OverflowError):
        return 2.0


def _is_singular(int_str: str, frac: str, L: _Lang) -> bool:
    """French treats anything below two as singular ("1,5 degré")."""
    if L.family == "fr":
        return abs(_num_value(int_str, frac)) < 2
    return not frac and int_str.lstrip("0") == "1"


def _pluralize_last(words: str) -> str:
    """ "nineteen ninety" -> "nineteen nineties" (decades)."""
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + ("es" if last.endswith("x") else "s")
    return f"{head} {last}" if head else last


# ---------------------------------------------------------------------------
# Rule context: disabled rules seal their spans instead of rewriting them
# ---------------------------------------------------------------------------

_SEAL_BASE = 0xF0000  # Supplementary Private Use Area-A; stripped from input
_SEAL_MAX = 0xFFFD
_SEAL_RE = re.compile("[\U000F0000-\U000FFFFD]")


@dataclass
class _Ctx:
    L: _Lang | None
    disabled: frozenset[str]
    date_order: str
    vault: list[str] = field(default_factory=list)
    sealing: bool = False

    def seal(self, original: str) -> str:
        """Swap `original` for one private-use character later rules ignore."""
        if len(self.vault) >= _SEAL_MAX:
            return original
        self.vault.append(original)
        return chr(_SEAL_BASE + len(self.vault) - 1)

    def sub(self, pattern: re.Pattern[str], fn: Callable[[re.Match[str]], str | None],
            text: str) -> str:
        """`pattern.sub` where `fn` may decline (None) or fail without harm."""

        def guarded(m: re.Match[str]) -> str:
            try:
                out = fn(m)
            except Exception:  # noqa: BLE001 - never let odd input break speech
                out = None
            if out is None or out == m.group(0):
                return m.group(0)
            return self.seal_core(m.group(0)) if self.sealing else out

        return pattern.sub(guarded, text)

    def seal_core(self, original: str) -> str:
        """Seal a disabled rule's span, leaving its outer whitespace outside so
        the final strip/collapse still applies; inner whitespace becomes single
        spaces, as everywhere else in the output."""
        core = original.strip()
        if not core:
            return original
        head = original[: len(original) - len(original.lstrip())]
        tail = original[len(original.rstrip()):]
        return head + self.seal(_SPACES_RE.sub(" ", core)) + tail

    def unseal(self, text: str) -> str:
        for _ in range(8):  # sealed spans may contain seals; nesting is shallow
            if not _SEAL_RE.search(text):
                break
            text = _SEAL_RE.sub(lambda m: self.vault[ord(m.group()) - _SEAL_BASE], text)
        return text


# ---------------------------------------------------------------------------
# Sanitising and protection (always on)
# ---------------------------------------------------------------------------

_NEWLINES_RE = re.compile(r"\r\n?|[\u2028\u2029\u0085\v\f]")
_INVISIBLE_RE = re.compile(r"[\u00ad\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_PHONEME_RE = re.compile(r"\[[^\[\]\n]+\]\(/[^()\n]*/\)")


def _sanitize(text: str) -> str:
    """NFC-compose, unify newlines, and drop characters nobody can say:
    controls, invisible formatting, surrogates and private-use characters
    (the latter also keeps our seal characters unambiguous)."""
    text = unicodedata.normalize("NFC", text)
    text = _NEWLINES_RE.sub("\n", text).replace("\t", " ")
    text = _INVISIBLE_RE.sub("", text)
    return "".join(
        ch for ch in text
        if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cs", "Co")
    )


def _protect_phonemes(text: str, c: _Ctx) -> str:
    """Seal Kokoro's ``[word](/phonemes/)`` so nothing downstream alters it."""
    return _PHONEME_RE.sub(lambda m: c.seal(m.group(0)), text)


# ---------------------------------------------------------------------------
# Emoji
# ---------------------------------------------------------------------------

_EMOJI_GLUE_RE = re.compile("[\ufe0e\ufe0f\u200d\u20e3\U000E0020-\U000E007F]")
_EMOJI_RE = re.compile(
    "[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF"
    "\u24C2\u3030\u303D\u3297\u3299]+"
)


def _rule_emoji(text: str, c: _Ctx) -> str:
    """Pictographs have no reading; espeak-ng would spell their names or stall.
    Joiners and variation selectors only glue emoji together, so they go too."""
    return _EMOJI_RE.sub(" ", _EMOJI_GLUE_RE.sub("", text))


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------

_FENCE_RE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HR_RE = re.compile(r"^\s{0,3}(?:(?:[-*_]\s*){3,}|=+\s*)$")
_TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}(?:\s+|$)(.*?)(?:\s+#+)?\s*$")
_QUOTE_RE = re.compile(r"^\s{0,3}(?:>\s?)+")
_BULLET_RE = re.compile(r"^\s*(?:[-*+•‣◦▪●]|\d{1,3}[.)])\s+(?:\[[ xX]\]\s+)?")
_REF_DEF_RE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+.*$")
_HTML_TAG_RE = re.compile(
    r"</?(?:br|p|div|span|b|i|u|em|strong|sub|sup|code|pre|small|mark|del|ins|s)\b[^>\n]*>",
    re.IGNORECASE)
_ENTITY_RE = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{1,6}|#x[0-9a-fA-F]{1,6});")
_IMAGE_RE = re.compile(r"!\[([^\]\n]*)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+[\"'][^\"'\n]*[\"'])?\)")
_LINK_RE = re.compile(r"\[([^\]\n]*)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+[\"'][^\"'\n]*[\"'])?\)")
_REF_LINK_RE = re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]")
_AUTOLINK_RE = re.compile(r"<((?:https?|ftp)://[^>\s]+|[^>\s@]+@[^>\s@]+)>")
_CODE_RE = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_BOLD_STAR_RE = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_BOLD_UNDER_RE = re.compile(r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)")
_ITALIC_STAR_RE = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_ITALIC_UNDER_RE = re.compile(r"(?<!\w)_(?=[^\s_])(.+?)(?<=[^\s_])_(?!\w)")
_STRIKE_RE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_SENTENCE_END = frozenset(".!?;:,…。！？।")
_CLOSERS = "\"'”’»)]}"


def _strip_fences(lines: list[str]) -> list[str]:
    """Drop fenced code blocks; an unclosed fence drops only its marker line."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _FENCE_RE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        close = m.group(1)[0] * 3
        j = i + 1
        while j < len(lines) and not lines[j].lstrip().startswith(close):
            j += 1
        if j < len(lines):
            out.append("")
            i = j + 1
        else:
            i += 1
    return out


def _table_rows(lines: list[str]) -> set[int]:
    """Indices of table rows: pipe-framed lines, and pipe lines around a --- row."""
    rows = {i for i, line in enumerate(lines)
            if line.strip().startswith("|") and line.strip().count("|") >= 2}
    for i, line in enumerate(lines):
        if "|" in line and "-" in line and _TABLE_SEP_RE.match(line):
            rows.add(i)
            if i > 0 and "|" in lines[i - 1]:
                rows.add(i - 1)
            j = i + 1
            while j < len(lines) and "|" in lines[j]:
                rows.add(j)
                j += 1
    return rows


def _inline_markdown(line: str) -> str:
    line = _HTML_TAG_RE.sub(" ", line)
    line = _ENTITY_RE.sub(lambda m: html.unescape(m.group()), line)
    line = _IMAGE_RE.sub(r"\1", line)
    line = _LINK_RE.sub(r"\1", line)
    line = _REF_LINK_RE.sub(r"\1", line)
    line = _AUTOLINK_RE.sub(r"\1", line)
    line = _CODE_RE.sub(lambda m: m.group(2).strip(), line)
    for pattern in (_BOLD_STAR_RE, _BOLD_UNDER_RE, _STRIKE_RE, _ITALIC_STAR_RE, _ITALIC_UNDER_RE):
        line = pattern.sub(r"\1", line)
    line = line.replace("`", "")  # stray backticks are never spoken
    return _ESCAPE_RE.sub(r"\1", line)


def _ends_sentence(line: str) -> bool:
    stripped = line.rstrip().rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in _SENTENCE_END


def _rule_markdown(text: str, c: _Ctx) -> str:
    """Strip markdown syntax, keep its words, and turn line structure into
    sentence breaks so list items and headings do not run together."""
    lines = _strip_fences(text.split("\n"))
    table = _table_rows(lines)
    items: list[tuple[str, bool]] = []  # (text, is_block); "" = paragraph break
    for i, line in enumerate(lines):
        block = False
        if _HR_RE.match(line) or _REF_DEF_RE.match(line):
            items.append(("", False))
            continue
        if i in table:
            if _TABLE_SEP_RE.match(line):
                continue
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            line = ", ".join(_inline_markdown(cell) for cell in cells if cell)
            items.append((line.strip(), True))
            continue
        heading = _HEADING_RE.match(line)
        if heading:
            line, block = heading.group(1), True
        line = _QUOTE_RE.sub("", line)
        bullet = _BULLET_RE.match(line)
        if bullet:
            line, block = line[bullet.end():], True
        items.append((_inline_markdown(line).strip(), block))

    out: list[str] = []
    for i, (line, block) in enumerate(items):
        if not line:
            continue
        nxt = items[i + 1] if i + 1 < len(items) else None
        later = any(t for t, _ in items[i + 1:])
        continues = (nxt is not None and nxt[0] and not nxt[1] and not block
                     and nxt[0][0].islower())
        if later and not continues and not _ends_sentence(line):
            line += "."
        out.append(line)
    return " ".join(out)


# ---------------------------------------------------------------------------
# E-mail addresses and URLs
# ---------------------------------------------------------------------------

_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+(?![\w@])")
_TLDS = (
    "com|org|net|io|dev|app|ai|co|uk|de|fr|es|it|br|eu|gov|edu|info|nl|ch|jp|cn|ru|us|"
    "ca|au|local|lan|tv|xyz|site|online|pt|mx|ar|se|dk|fi|pl|cz|ie|nz|biz|cloud|tech"
)
# Bare domains need a lower-case known TLD, so "end.It" or "e.g." never match.
_URL_RE = re.compile(
    r"(?<![\w@/.-])(?:(?i:https?|ftp)://[^\s<>\"'\])]+|(?i:www)\.[^\s<>\"'\])]+|"
    r"(?:[a-zA-Z0-9][a-zA-Z0-9-]*\.)+(?:" + _TLDS + r")(?::\d{1,5})?(?:/[^\s<>\"'\])]*)?(?![\w@.-]\w))"
)
_URL_TRAIL = ".,;:!?"
_ADDRESS_SEP_RE = re.compile(r"[./\-_:=&+@~]")


def _speak_address(address: str, L: _Lang) -> str:
    names = {".": L.w["dot"], "/": L.w["slash"], "-": L.w["dash"], "_": L.w["underscore"],
             ":": L.w["colon"], "=": L.w["equals"], "&": L.w["and"], "+": L.w["plus"],
             "@": L.w["at"], "~": "~"}
    return _ADDRESS_SEP_RE.sub(lambda m: f" {names[m.group()]} ", address)


def _rule_emails(text: str, c: _Ctx) -> str:
    """john.doe@example.com -> "john dot doe at example dot com"."""
    assert c.L is not None
    return c.sub(_EMAIL_RE, lambda m: _speak_address(m.group(), c.L), text)


def _url_words(m: re.Match[str], L: _Lang) -> str | None:
    raw = m.group()
    url = raw.rstrip(_URL_TRAIL)
    trail = raw[len(url):]
    body = re.sub(r"^(?:(?:https?|ftp)://)?(?:www\.)?", "", url, flags=re.IGNORECASE)
    body = re.split(r"[?#]", body, maxsplit=1)[0].rstrip("/")
    if not body:
        return None
    return f"{_speak_address(body, L)}{trail}"


def _rule_urls(text: str, c: _Ctx) -> str:
    """Say web addresses the way people do: no scheme, no "www", no query."""
    assert c.L is not None
    return c.sub(_URL_RE, lambda m: _url_words(m, c.L), text)


# ---------------------------------------------------------------------------
# Abbreviations
# ---------------------------------------------------------------------------

# (pattern, replacement, may_end_sentence). A trailing "." that also ended the
# sentence is put back when the abbreviation is last or a capital follows.
_ABBREVIATIONS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "en": (
        (r"\bMr\.?(?=\s+[A-Z])", "Mister", False),
        (r"\bMrs\.?(?=\s+[A-Z])", "Missus", False),
        (r"\bMs\.?(?=\s+[A-Z])", "Miz", False),
        (r"\bProf\.?(?=\s+[A-Z])", "Professor", False),
        (r"\bMt\.?(?=\s+[A-Z])", "Mount", False),
        (r"\bJr\.", "Junior", True),
        (r"\bSr\.", "Senior", True),
        (r"\bAve\.", "Avenue", True),
        (r"\bBlvd\.", "Boulevard", True),
        (r"\bRd\.", "Road", True),
        (r"\bInc\.", "Incorporated", True),
        (r"\bLtd\.", "Limited", True),
        (r"(?<!\w)e\.\s?g\.(?!\w)", "for example", False),
        (r"(?<!\w)i\.\s?e\.(?!\w)", "that is", False),
        (r"(?<!\w)a\.k\.a\.(?!\w)", "also known as", False),
        (r"\betc\.", "et cetera", True),
        (r"\bvs\.", "versus", False),
        (r"\bapprox\.", "approximately", False),
        (r"\bincl\.", "including", False),
        (r"\bexcl\.", "excluding", False),
        (r"\b[Nn]o\.(?=\s?\d)", "number", False),
        (r"(?<!\d)(?<!\d )\b[Mm]in\.?(?=:?\s*[-−+]?\d)", "minimum", False),
        (r"\b[Mm]ax\.?(?=:?\s*[-−+]?\d)", "maximum", False),
        (r"(?<!\w)w/o(?=\s)", "without", False),
        (r"(?<!\w)w/(?=\s)", "with", False),
    ),
    "es": (
        (r"\bSr\.(?=\s)", "señor", False),
        (r"\bSra\.(?=\s)", "señora", False),
        (r"\bSrta\.(?=\s)", "señorita", False),
        (r"\bDr\.(?=\s)", "doctor", False),
        (r"\bDra\.(?=\s)", "doctora", False),
        (r"\bUds\.", "ustedes", True),
        (r"\bUd\.", "usted", True),
        (r"(?<!\w)p\.\s?ej\.(?!\w)", "por ejemplo", False),
        (r"\betc\.", "etcétera", True),
        (r"\baprox\.", "aproximadamente", False),
        (r"\b[Aa]vda?\.(?=\s)", "avenida", False),
        (r"(?<!\w)(?:[Nn]\.?\s?[ºo°]|[Nn]úm\.)(?=\s?\d)", "número", False),
        (r"\bmáx\.?(?=:?\s*[-−+]?\d)", "máximo", False),
        (r"(?<!\d)(?<!\d )\bmín\.?(?=:?\s*[-−+]?\d)", "mínimo", False),
    ),
    "fr": (
        (r"\bM\.(?=\s+[A-ZÉ])", "monsieur", False),
        (r"\bMM\.(?=\s+[A-ZÉ])", "messieurs", False),
        (r"\bMme\.?(?=\s)", "madame", False),
        (r"\bMlle\.?(?=\s)", "mademoiselle", False),
        (r"\bDr\.?(?=\s+[A-ZÉ])", "docteur", False),
        (r"\bPr\.?(?=\s+[A-ZÉ])", "professeur", False),
        (r"(?<!\w)p\.\s?ex\.(?!\w)", "par exemple", False),
        (r"(?<!\w)c\.-à-d\.(?!\w)", "c'est-à-dire", False),
        (r"\betc\.", "et cetera", True),
        (r"\benv\.(?=\s)", "environ", False),
        (r"(?<!\w)[Nn]\s?[ºo°](?=\s?\d)", "numéro", False),
        (r"\bmax\.?(?=:?\s*[-−+]?\d)", "maximum", False),
        (r"(?<!\d)(?<!\d )\bmin\.?(?=:?\s*[-−+]?\d)", "minimum", False),
    ),
    "it": (
        (r"\bSig\.ra(?=\s)", "signora", False),
        (r"\bSig\.na(?=\s)", "signorina", False),
        (r"\bSig\.(?=\s)", "signor", False),
        (r"\bDott\.ssa(?=\s)", "dottoressa", False),
        (r"\bDott\.(?=\s)", "dottor", False),
        (r"\bProf\.(?=\s)", "professor", False),
        (r"\becc\.", "eccetera", True),
        (r"(?<!\w)ad es\.(?!\w)", "ad esempio", False),
        (r"(?<!\w)[Nn](?:\.|\s?º)(?=\s?\d)", "numero", False),
        (r"\bmax\.?(?=:?\s*[-−+]?\d)", "massimo", False),
        (r"(?<!\d)(?<!\d )\bmin\.?(?=:?\s*[-−+]?\d)", "minimo", False),
    ),
    "pt": (
        (r"\bSr\.(?=\s)", "senhor", False),
        (r"\bSra\.(?=\s)", "senhora", False),
        (r"\bDr\.(?=\s)", "doutor", False),
        (r"\bDra\.(?=\s)", "doutora", False),
        (r"(?<!\w)p\.\s?ex\.(?!\w)", "por exemplo", False),
        (r"\betc\.", "etcétera", True),
        (r"\baprox\.", "aproximadamente", False),
        (r"\bAv\.(?=\s)", "avenida", False),
        (r"(?<!\w)[Nn]\.?\s?[ºo°](?=\s?\d)", "número", False),
        (r"\bmáx\.?(?=:?\s*[-−+]?\d)", "máximo", False),
        (r"(?<!\d)(?<!\d )\bmín\.?(?=:?\s*[-−+]?\d)", "mínimo", False),
    ),
    "hi": (
        (r"डॉ\.(?=\s)", "डॉक्टर", False),
    ),
}
_ABBREV_RES = {
    fam: tuple((re.compile(p), r, end) for p, r, end in table)
    for fam, table in _ABBREVIATIONS.items()
}
# Titles whose reading depends on the neighbours (English only).
_DR_RE = re.compile(r"(?<![\w.])(?P<prev>[A-Z][\w'-]*\s+)?Dr\b(?P<dot>\.)?(?=(?P<next>\s+[A-Z])?)")
_ST_RE = re.compile(
    r"(?<![\w.])(?P<prev>(?:[A-Z][\w'-]*|\d+\w*)\s+)?St\b(?P<dot>\.)?(?=(?P<next>\s+[A-Z])?)")
_SENTENCE_NEXT_RE = re.compile(r"\s*$|\s+[A-Z]")


def _abbrev_sub(pattern: re.Pattern[str], word: str, may_end: bool, text: str, c: _Ctx) -> str:
    def fn(m: re.Match[str]) -> str:
        out = word
        if m.group()[:1].isupper() and word[:1].islower():
            out = word[0].upper() + word[1:]
        if may_end and m.group().endswith(".") and _SENTENCE_NEXT_RE.match(text, m.end()):
            out += "."
        return out

    return c.sub(pattern, fn, text)


def _dr_st(m: re.Match[str], text: str, title: str, place: str) -> str | None:
    """Doctor/Saint before a capitalised name; Drive/Street after a name or number."""
    prev, dot, nxt = m.group("prev") or "", m.group("dot"), m.group("next")
    if nxt:
        return prev + title
    if prev:
        end = "." if dot and _SENTENCE_NEXT_RE.match(text, m.end()) else ""
        return prev + place + end
    return title if dot else None


def _rule_abbreviations(text: str, c: _Ctx) -> str:
    """Expand abbreviations espeak-ng would spell or misread ("Dr.", "e.g.")."""
    assert c.L is not None
    if c.L.family == "en":
        text = c.sub(_DR_RE, lambda m: _dr_st(m, text, "Doctor", "Drive"), text)
        text = c.sub(_ST_RE, lambda m: _dr_st(m, text, "Saint", "Street"), text)
    for pattern, word, may_end in _ABBREV_RES[c.L.family]:
        text = _abbrev_sub(pattern, word, may_end, text, c)
    return text


# ---------------------------------------------------------------------------
# Per-language number patterns
# ---------------------------------------------------------------------------

_NUM_PATTERNS = {
    "en": r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?",
    "hi": r"(?:\d{1,3}(?:,\d{2})*,\d{3}(?!\d)|\d+)(?:\.\d+)?",
    "fr": r"(?:\d{1,3}(?:[ \u00a0\u202f.]\d{3})+(?!\d)(?:,\d+)?|\d+(?:[.,]\d+)?)",
    "rom": r"(?:\d{1,3}(?:[.\u00a0\u202f]\d{3})+(?!\d)(?:,\d+)?|\d+(?:[.,]\d+)?)",
}
_START = r"(?<![\w.,])"
_END = r"(?![\w])(?![.,]\d)"
_SIGN = r"(?P<sign>(?<![\w.,])[-−+])?"


@dataclass(frozen=True)
class _Patterns:
    money_pre: re.Pattern[str]
    money_post: re.Pattern[str]
    percent: re.Pattern[str]
    units: re.Pattern[str]
    ranges: re.Pattern[str]
    numbers: re.Pattern[str]
    dotted: re.Pattern[str]
    ordinals: re.Pattern[str] | None


_UNIT_ALT = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
_ORDINAL_SUFFIXES = {
    "en": r"(?i:st|nd|rd|th)",
    "es": r"\.?(?:ºs?|ªs?|er)",
    "fr": r"(?:ères|ère|ers|er|res|re|èmes|ème|emes|eme|es|e|nde|nd)",
    "it": r"\.?(?:º|ª)",
    "pt": r"\.?(?:ºs?|ªs?)",
}


@cache
def _patterns(family: str) -> _Patterns:
    num = _NUM_PATTERNS.get(family, _NUM_PATTERNS["rom"])
    cur = r"R\$|US\$|\$|€|£|¥|₹|Rs\.?(?=\s?\d)|USD|EUR|GBP|JPY|INR|BRL"
    scale = (r"(?:\s?(?P<scale>thousand|million|billion|trillion|k|K|m|M|bn|B)(?!\w))?"
             if family == "en" else "")
    ordinal_suffix = _ORDINAL_SUFFIXES.get(family)
    return _Patterns(
        money_pre=re.compile(
            rf"{_SIGN}(?<![\w.,])(?P<cur>{cur})\s?(?P<num>{num})"
            rf"(?:\s?[-–—]\s?(?:(?P=cur)\s?)?(?P<num2>{num}))?{scale}{_END}"),
        money_post=re.compile(
            rf"{_SIGN}{_START}(?P<num>{num})\s?(?P<cur>€|\$|£|¥|₹|¢|USD|EUR|GBP|JPY|INR|BRL)(?!\w)"),
        percent=re.compile(
            rf"{_SIGN}{_START}(?P<a>{num})(?:\s?[-–—]\s?(?P<b>{num}))?\s?[%％](?!\w)"),
        units=re.compile(
            rf"{_SIGN}{_START}(?:(?P<frac>(?:(?P<whole>\d+)\s?)?(?:(?P<fn>\d{{1,2}})/(?P<fd>\d{{1,2}})|"
            rf"(?P<v>[{''.join(_VULGAR)}])))|(?P<a>{num})(?:\s?[-–—]\s?(?P<b>{num}))?)(?P<sp>\s?)"
            rf"(?P<unit>{_UNIT_ALT})(?![\w²³])(?!/\w)"),
        ranges=re.compile(
            rf"(?<![-−])(?<![\w.,/])(?P<a>{num})(?:-|\s?[–—]\s?)(?P<b>{num})(?![\w/%])(?![.,-]\d)"),
        numbers=re.compile(rf"{_SIGN}{_START}(?P<num>{num}){_END}"),
        dotted=re.compile(r"(?<![\w.,])\d+(?:\.\d+){2,}(?![\w])(?!\.\d)"),
        ordinals=(re.compile(rf"(?<![\w.,])(?P<n>\d+)(?P<suf>{ordinal_suffix})(?!\w)")
                  if ordinal_suffix else None),
    )


# ---------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------

_SCALES = {"k": "thousand", "K": "thousand", "m": "million", "M": "million", "bn": "billion",
           "B": "billion", "thousand": "thousand", "million": "million", "billion": "billion",
           "trillion": "trillion"}


def _money_words(code: str, num: str, scale: str | None, sign: str, L: _Lang) -> str | None:
    sing, plur, sub_sing, sub_plur = _CURRENCIES[L.family][code]
    feminine = sing.startswith("f:")
    sing = sing.removeprefix("f:")
    int_str, frac = _parse_num(num, L)
    minus = f"{L.w['minus']} " if sign in ("-", "−") else ""
    if scale:  # "$5.3 billion": a scaled amount is a plain number of dollars
        return f"{minus}{_say_number(int_str, frac, L)} {_SCALES[scale]} {plur}"
    if frac and (len(frac) > 2 or not sub_sing):
        return f"{minus}{_say_number(int_str, frac, L)} {plur}"
    whole = int(int_str or "0")
    cents = int(frac.ljust(2, "0")) if frac else 0
    parts = []
    if whole or not cents:
        words = _agree(_say_int(int_str or "0", L), L, feminine)
        noun = sing if whole == 1 else plur
        if L.w["of"] and _BIG_SCALE_RE.fullmatch(words + " ") and not cents:
            of = "d'" if L.family == "fr" and noun[:1] in "aeiouéèh" else f"{L.w['of']} "
            noun = of + noun
        parts.append(f"{words} {noun}")
    if cents:
        cent_words = _agree(_cardinal(cents, L), L, False)
        parts.append(f"{cent_words} {sub_sing if cents == 1 else sub_plur}")
    return minus + f" {L.w['money_and']} ".join(parts)


def _rule_money(text: str, c: _Ctx) -> str:
    """$5.30 -> "five dollars and thirty cents"; 12,50 € -> "doce euros con cincuenta céntimos"."""
    assert c.L is not None
    L, P = c.L, _patterns(c.L.family)

    def pre(m: re.Match[str]) -> str | None:
        code, scale = _CURRENCY_SYMBOLS[m.group("cur")], m.groupdict().get("scale")
        sign = m.group("sign") or ""
        if not m.group("num2"):
            return _money_words(code, m.group("num"), scale, sign, L)
        # "$5-10" / "$5-$10": "five to ten dollars"; with cents, name both amounts
        upper = _money_words(code, m.group("num2"), scale, "", L)
        int_str, frac = _parse_num(m.group("num"), L)
        lower = (_say_number(int_str, frac, L, sign) if scale or not frac
                 else _money_words(code, m.group("num"), None, sign, L))
        return f"{lower} {L.w['to']} {upper}"

    def post(m: re.Match[str]) -> str | None:
        cur = m.group("cur")
        if cur == "¢":
            int_str, frac = _parse_num(m.group("num"), L)
            if frac:
                return None
            sub_sing, sub_plur = _CURRENCIES[L.family]["USD"][2:]
            noun = sub_sing if int_str.lstrip("0") == "1" else sub_plur
            return f"{_say_number(int_str, '', L, m.group('sign') or '')} {noun}"
        return _money_words(_CURRENCY_SYMBOLS[cur], m.group("num"), None, m.group("sign") or "", L)

    text = c.sub(P.money_pre, pre, text)
    return c.sub(P.money_post, post, text)


# ---------------------------------------------------------------------------
# Phone numbers
# ---------------------------------------------------------------------------

_PHONE_COMMON = [
    re.compile(r"(?<![\w+])\+\d{1,3}(?:[\s.-]\(?\d{1,5}\)?|\(\d{1,5}\)){1,6}(?![\w])(?![.-]\d)"),
    re.compile(r"(?<![\w+])\+\d{8,15}(?!\w)"),
]
_PHONE_LOCAL = {
    "en": [re.compile(
        r"(?<![\w+(])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w])(?![.-]\d)")],
    "fr": [re.compile(r"(?<![\w+])0[1-9](?:[\s.]\d{2}){4}(?![\w])(?![.-]\d)")],
    "es": [re.compile(r"(?<![\w+])[6789]\d{2}(?:\s\d{3}){2}(?![\w])(?![.-]\d)")],
    "pt": [re.compile(r"(?<![\w+])\(\d{2}\)\s?\d{4,5}-\d{4}(?![\w])(?![.-]\d)")],
    "hi": [re.compile(r"(?<![\w+])[6-9]\d{4}\s\d{5}(?![\w])(?![.-]\d)")],
}
_PHONE_GROUP_RE = re.compile(r"\+|\d+")


def _phone_words(number: str, L: _Lang) -> str | None:
    digits = sum(ch.isdigit() for ch in number)
    if not 7 <= digits <= 15:
        return None
    groups = []
    for token in _PHONE_GROUP_RE.findall(number):
        groups.append(L.w["plus"] if token == "+" else _digits(token, L))
    if groups and groups[0] == L.w["plus"] and len(groups) > 1:
        groups[:2] = [f"{groups[0]} {groups[1]}"]
    return ", ".join(groups)


def _rule_phone(text: str, c: _Ctx) -> str:
    """Phone numbers are read digit by digit, grouped as written."""
    assert c.L is not None
    L = c.L
    for pattern in _PHONE_COMMON + _PHONE_LOCAL.get(L.family, []):
        text = c.sub(pattern, lambda m: _phone_words(m.group(), L), text)
    return text


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------

_MONTH_ALT = (
    r"(?P<month>January|February|March|April|May|June|July|August|September|October|"
    r"November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
)
_ISO_DATE_RE = re.compile(
    r"(?<![\w./-])(?P<y>\d{4})([-/])(?P<m>\d{1,2})\2(?P<d>\d{1,2})(?![\w])(?![./-]\d)")
_NUM_DATE_RE = re.compile(
    r"(?<![\w./-])(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
    r"(?![\w])(?![./-]\d)")
_EN_MONTH_DAY_RE = re.compile(
    rf"\b{_MONTH_ALT}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{{4}}))?(?![\w:])(?![.,]\d)")
_EN_DAY_MONTH_RE = re.compile(
    rf"(?<![\w.,])(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_ALT}"
    rf"(?:,?\s+(?P<y>\d{{4}}))?(?![\w])(?![.,]\d)")
_THE_BEFORE_RE = re.compile(r"\b[Tt]he\s+$")
_EN_MONTH_YEAR_RE = re.compile(rf"\b{_MONTH_ALT}\s+(?P<y>\d{{4}})(?![\w])(?![.,]\d)")


def _month_index(name: str) -> int:
    return [m[:3] for m in _MONTHS["en"]].index(name[:3]) + 1


def _say_date(day: int, month: int, year: int | None, L: _Lang, *, day_first: bool | None = None) -> str:
    """A date as spoken in `L`; English keeps the written order (month or day first)."""
    name = L.months[month - 1]
    fam = L.family
    if fam == "en":
        if day_first is None:
            day_first = L.key == "en-gb"
        out = f"the {_ordinal(day, L)} of {name}" if day_first else f"{name} {_ordinal(day, L)}"
        return f"{out}, {_year(year, L)}" if year is not None else out
    first = {"fr": "premier", "it": "primo", "pt": "primeiro"}.get(fam) if day == 1 else None
    day_words = first or _cardinal(day, L)
    if fam in ("es", "pt"):
        out = f"{day_words} de {name}"
        return f"{out} de {_year(year, L)}" if year is not None else out
    out = f"{day_words} {name}"
    return f"{out} {_year(year, L)}" if year is not None else out


def _valid(year: int, month: int, day: int) -> bool:
    try:
        _dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _rule_date(text: str, c: _Ctx) -> str:
    """ISO and numeric dates everywhere; English month names ("Nov 24") too."""
    assert c.L is not None
    L = c.L

    def iso(m: re.Match[str]) -> str | None:
        y, mo, d = int(m.group("y")), int(m.group("m")), int(m.group("d"))
        return _say_date(d, mo, y, L) if _valid(y, mo, d) else None

    def numeric(m: re.Match[str]) -> str | None:
        a, b, ys = int(m.group("a")), int(m.group("b")), m.group("y")
        if len(ys) == 2 and m.group("sep") != "/":
            return None
        y = int(ys) + (2000 if len(ys) == 2 else 0)
        orders = [(a, b), (b, a)] if c.date_order == "mdy" else [(b, a), (a, b)]
        for mo, d in orders:
            if _valid(y, mo, d):
                return _say_date(d, mo, y, L)
        return None

    text = c.sub(_ISO_DATE_RE, iso, text)
    text = c.sub(_NUM_DATE_RE, numeric, text)
    if L.family != "en":
        return text

    def month_day(m: re.Match[str], day_first: bool) -> str | None:
        mo, d = _month_index(m.group("month")), int(m.group("d"))
        y = int(m.group("y")) if m.group("y") else None
        if not _valid(y or 2000, mo, d):
            return None
        words = _say_date(d, mo, y, L, day_first=day_first)
        if day_first and _THE_BEFORE_RE.search(text, 0, m.start()):
            words = words.removeprefix("the ")  # "the 5th of May" already has it
        return words

    def month_year(m: re.Match[str]) -> str | None:
        y = int(m.group("y"))
        if not 1000 <= y <= 2999:
            return None
        return f"{L.months[_month_index(m.group('month')) - 1]} {_year(y, L)}"

    text = c.sub(_EN_MONTH_DAY_RE, lambda m: month_day(m, False), text)
    text = c.sub(_EN_DAY_MONTH_RE, lambda m: month_day(m, True), text)
    return c.sub(_EN_MONTH_YEAR_RE, month_year, text)


# ---------------------------------------------------------------------------
# Times
# ---------------------------------------------------------------------------

_AMPM = r"(?P<ap{0}>[aApP]\.?\s?[mM]\.?)"


def _time_core(i: str, family: str) -> str:
    if family == "en":
        return (rf"(?:(?P<h{i}>\d{{1,2}}):(?P<m{i}>\d{{2}})(?::(?P<s{i}>\d{{2}}))?"
                rf"(?:\s?{_AMPM.format(i)}(?!\w))?(?P<nn{i}>\s+(?:noon|midnight)\b)?"
                rf"|(?P<hh{i}>\d{{1,2}})\s?{_AMPM.format('x' + i)}(?!\w))")
    h_form = rf"|\s?h\s?(?P<hm{i}>\d{{2}})?" if family in ("fr", "pt") else ""
    return (rf"(?:(?P<h{i}>\d{{1,2}})(?::(?P<m{i}>\d{{2}})(?::(?P<s{i}>\d{{2}}))?{h_form})"
            rf"(?:\s?h(?:rs)?\b)?)")


@cache
def _time_re(family: str) -> re.Pattern[str]:
    one, two = _time_core("1", family), _time_core("2", family)
    return re.compile(rf"(?<![\w:.,/])(?:{one})(?:\s?[-–—]\s?(?:{two}))?(?![\w:])(?![.,]\d)")


def _en_time(h: int, mi: int | None, s: int | None, ap: str | None, nn: str | None,
             L: _Lang) -> str | None:
    """American/British clock readings: "three forty-five P M", "ten oh five",
    "seven o'clock", "fifteen hundred"."""
    hw = _cardinal(h, L)
    if ap is not None:
        if not 1 <= h <= 12:
            return None
        ap_words = "A M" if ap[0] in "aA" else "P M"
        if not mi:
            return f"{hw} {ap_words}"
        return f"{hw} {_en_minutes(mi, L)} {ap_words}"
    if mi is None:
        return None
    if mi == 0:
        if nn:
            return f"{hw} {nn.strip()}"
        if h in (0, 24):
            return "midnight"
        base = f"{hw} o'clock" if h <= 12 else f"{hw} hundred"
    else:
        base = f"{hw} {_en_minutes(mi, L)}"
    if s:
        base += f" and {_cardinal(s, L)} second{'s' if s != 1 else ''}"
    return base


def _en_minutes(mi: int, L: _Lang) -> str:
    return f"oh {_cardinal(mi, L)}" if mi < 10 else _cardinal(mi, L)


def _other_time(h: int, mi: int | None, s: int | None, L: _Lang) -> str:
    fam = L.family
    mi = mi or 0
    if fam == "hi":
        out = f"{_cardinal(h, L)} बजे" if not mi else f"{_cardinal(h, L)} बजकर {_cardinal(mi, L)} मिनट"
        return out + (f" {_cardinal(s, L)} सेकंड" if s else "")
    hw = _agree(_cardinal(h, L), L, feminine=True)
    mw = _cardinal(mi, L)
    if fam == "fr":
        out = f"{hw} {'heure' if h < 2 else 'heures'}" + (f" {mw}" if mi else "")
        return out + (f" et {_cardinal(s, L)} secondes" if s else "")
    if fam == "es":
        out = f"{hw} y {mw}" if mi else f"{hw} en punto"
        return out + (f" y {_cardinal(s, L)} segundos" if s else "")
    if fam == "it":
        out = f"{hw} e {mw}" if mi else hw
        return out + (f" e {_cardinal(s, L)} secondi" if s else "")
    out = f"{hw} e {mw}" if mi else f"{hw} {'hora' if h == 1 else 'horas'}"
    return out + (f" e {_cardinal(s, L)} segundos" if s else "")


def _one_time(m: re.Match[str], i: str, L: _Lang) -> str | None:
    g = m.groupdict()
    if L.family == "en" and g.get(f"hh{i}") is not None:
        return _en_time(int(g[f"hh{i}"]), None, None, g[f"apx{i}"], None, L)
    if g.get(f"h{i}") is None:
        return None
    h = int(g[f"h{i}"])
    mins = g.get(f"m{i}") if g.get(f"m{i}") is not None else g.get(f"hm{i}")
    mi = int(mins) if mins is not None else None
    s = int(g[f"s{i}"]) if g.get(f"s{i}") is not None else None
    if h > 24 or (mi is not None and mi > 59) or (s is not None and s > 59):
        return None
    if L.family == "en":
        return _en_time(h, mi, s, g.get(f"ap{i}"), g.get(f"nn{i}"), L)
    return _other_time(h, mi, s, L)


def _rule_time(text: str, c: _Ctx) -> str:
    """Clock times (3:45 PM, 15:30, 15h30) and ranges of them (9:00-17:00)."""
    assert c.L is not None
    L = c.L

    def fn(m: re.Match[str]) -> str | None:
        first = _one_time(m, "1", L)
        if first is None:
            return None
        if any(m.group(k) for k in m.groupdict() if k.endswith("2")):
            second = _one_time(m, "2", L)
            if second is None:
                return None
            first = f"{first} {L.w['to']} {second}"
        raw = m.group().rstrip()
        if L.family == "en" and raw.endswith(".") and _SENTENCE_NEXT_RE.match(text, m.end()):
            first += "."  # "at 3 p.m." also ended the sentence
        return first

    return c.sub(_time_re(L.family), fn, text)


# ---------------------------------------------------------------------------
# Percent and units
# ---------------------------------------------------------------------------


def _quantity(m: re.Match[str], L: _Lang, feminine: bool | None = None) -> tuple[str, tuple[str, str]]:
    """Words for "a" or "a-b" (with sign); returns (words, last number parsed).

    feminine None: no agreement (percent: "uno por ciento", not "un").
    """
    sign = m.group("sign") or ""
    a = _parse_num(m.group("a"), L)
    words = _say_number(*a, L)
    if not a[1] and feminine is not None:
        words = _agree(words, L, feminine)
    if sign in ("-", "−"):
        words = f"{L.w['minus']} {words}"
    elif sign == "+":
        words = f"{L.w['plus']} {words}"
    last = a
    if m.group("b"):
        b = _parse_num(m.group("b"), L)
        bw = _say_number(*b, L)
        if not b[1] and feminine is not None:
            bw = _agree(bw, L, feminine)
        words = f"{words} {L.w['to']} {bw}"
        last = b
    return words, last


def _rule_percent(text: str, c: _Ctx) -> str:
    """85% -> "eighty-five percent"; 10-20 % -> "ten to twenty percent"."""
    assert c.L is not None
    L = c.L
    return c.sub(_patterns(L.family).percent,
                 lambda m: f"{_quantity(m, L)[0]} {L.w['percent']}", text)


def _unit_words(m: re.Match[str], L: _Lang) -> str | None:
    unit = m.group("unit")
    entry = _UNITS[unit].get(L.family)
    if entry is None or (unit in _SPACED_UNITS and not m.group("sp")):
        return None
    feminine = entry.startswith("f:")
    sing, _, plur = entry.removeprefix("f:").partition("|")
    if L.key == "en-gb":
        sing, plur = (n.replace("meter", "metre").replace("liter", "litre") for n in (sing, plur))
    if m.group("frac"):
        return _fraction_of_unit(m, sing, plur, L)
    words, last = _quantity(m, L, feminine)
    noun = sing if _is_singular(*last, L) else plur
    return f"{words} {noun}"


def _fraction_of_unit(m: re.Match[str], sing: str, plur: str, L: _Lang) -> str | None:
    """ "3 1/2 km" -> "three and a half kilometers"; "3/4 km" -> "three quarters of a kilometer"."""
    n, d = _VULGAR[m.group("v")] if m.group("v") else (int(m.group("fn")), int(m.group("fd")))
    words = _fraction_words(n, d, L)
    if words is None:
        return None
    sign = L.w["minus"] + " " if (m.group("sign") or "") in ("-", "−") else ""
    if m.group("whole"):
        return f"{sign}{_with_whole(m.group('whole'), words, n, L)} {plur}"
    if L.family == "en":
        article = "an" if sing[:1] in "aeiou" or sing.startswith("hour") else "a"
        return f"{sign}{words} of {article} {sing}"
    if L.w["of"]:
        of = "d'" if L.family == "fr" and sing[:1] in "aeiouéèh" else f"{L.w['of']} "
        return f"{sign}{words} {of}{sing}"
    return f"{sign}{words} {sing}"


def _rule_units(text: str, c: _Ctx) -> str:
    """Units after a number: "12.4 kWh" -> "twelve point four kilowatt hours"."""
    assert c.L is not None
    L = c.L
    return c.sub(_patterns(L.family).units, lambda m: _unit_words(m, L), text)


# ---------------------------------------------------------------------------
# Years (English)
# ---------------------------------------------------------------------------

_YEAR_CONTEXT_RE = re.compile(
    r"(?<!\w)(?P<ctx>(?:[Ii]n|[Ss]ince|[Yy]ear|[Uu]ntil|[Tt]ill|[Bb]y|[Ff]rom|[Bb]efore|[Aa]fter|"
    r"[Cc]irca|[Aa]round|[Dd]uring|[Bb]etween|[Ee]arly|[Ll]ate|[Mm]id|[Cc]lass of|[Ss]ummer|"
    r"[Ww]inter|[Ss]pring|[Aa]utumn|[Ff]all|[Ss]ummer of|[Ww]inter of)[\s-]+)"
    r"(?P<y>1[1-9]\d\d|20\d\d)(?![\w])(?![.,]\d)"
)
_YEAR_ERA_RE = re.compile(r"(?<![\w.,])(?P<y>\d{3,4})\s+(?P<era>AD|BC|BCE|CE|A\.D\.|B\.C\.)(?!\w)")
_DECADE_RE = re.compile(
    r"(?P<pre>\b(?:[Tt]he|[Hh]is|[Hh]er|[Tt]heir|[Mm]y|[Yy]our|[Oo]ur|[Ee]arly|[Ll]ate|[Mm]id)[\s-]+)?"
    r"(?<![\w.,])(?P<apos>['’])?(?P<y>1[1-9]\d0|20\d0|[1-9]0)['’]?s(?!\w)")


def _rule_years(text: str, c: _Ctx) -> str:
    """A bare 1999 is a count unless context says year ("in 1999", "1990s")."""
    assert c.L is not None
    L = c.L
    if L.family != "en":
        return text

    def decade(m: re.Match[str]) -> str | None:
        """ "1990s" always; "90s" only as "the 90s" / "'90s" ("30s" may be seconds)."""
        y = int(m.group("y"))
        if y < 1000 and not (m.group("pre") or m.group("apos")):
            return None
        return (m.group("pre") or "") + _pluralize_last(_year(y, L) if y >= 1000 else _cardinal(y, L))

    def era(m: re.Match[str]) -> str:
        letters = " ".join(ch for ch in m.group("era") if ch.isalpha())
        return f"{_year(int(m.group('y')), L)} {letters}"

    text = c.sub(_DECADE_RE, decade, text)
    text = c.sub(_YEAR_ERA_RE, era, text)
    return c.sub(_YEAR_CONTEXT_RE, lambda m: m.group("ctx") + _year(int(m.group("y")), L), text)


# ---------------------------------------------------------------------------
# Ordinals, fractions, ranges
# ---------------------------------------------------------------------------


def _feminine_ordinal(words: str) -> str:
    return re.sub(r"o\b", "a", words)


def _ordinal_words(m: re.Match[str], L: _Lang) -> str | None:
    """The suffix carries gender and number: 1º/1ª, 1er/1re, 1.er (Spanish "primer")."""
    n, suf = int(_ascii_digits(m.group("n"))), m.group("suf").lower().lstrip(".")
    fam = L.family
    if fam == "en":
        return _ordinal(n, L)
    if fam == "fr":
        if n == 1 and suf.startswith(("er", "re", "ère")):
            words = "premier" if suf.startswith("er") else "première"
        elif n == 2 and suf.startswith("nd"):
            words = "seconde" if suf.startswith("nde") else "second"
        elif n == 1 or suf.startswith(("er", "re", "ère", "nd")):
            return None
        else:
            words = _ordinal(n, L)
        return words + ("s" if suf.endswith("s") else "")
    words = _ordinal(n, L)
    if fam == "es" and suf == "er":
        return re.sub(r"(primer|tercer)o\b", r"\1", words)
    if suf.startswith("ª"):
        words = _feminine_ordinal(words)
    if suf.endswith("s"):
        words = re.sub(r"([oa])\b", r"\1s", words)
    return words


def _rule_ordinals(text: str, c: _Ctx) -> str:
    """1st, 1º, 1ª, 1er, 2e -> ordinal words, with gender where the suffix says."""
    assert c.L is not None
    pattern = _patterns(c.L.family).ordinals
    if pattern is None:
        return text
    return c.sub(pattern, lambda m: _ordinal_words(m, c.L), text)


_VULGAR = {"½": (1, 2), "⅓": (1, 3), "⅔": (2, 3), "¼": (1, 4), "¾": (3, 4), "⅕": (1, 5),
           "⅖": (2, 5), "⅗": (3, 5), "⅘": (4, 5), "⅙": (1, 6), "⅚": (5, 6), "⅛": (1, 8),
           "⅜": (3, 8), "⅝": (5, 8), "⅞": (7, 8), "⅐": (1, 7), "⅑": (1, 9), "⅒": (1, 10)}
_FRACTION_RE = re.compile(
    r"(?<![\w/.,])(?:(?P<whole>\d+)\s(?=\d+/))?(?P<n>\d{1,2})/(?P<d>\d{1,2})(?![\w/])(?![.,]\d)")
_VULGAR_RE = re.compile(r"(?<![\w.,])(?:(?P<whole>\d+)\s?)?(?P<v>[" + "".join(_VULGAR) + r"])")
_FRACTION_NAMES = {  # denominator -> (singular, plural)
    "en": {2: ("half", "halves"), 4: ("quarter", "quarters")},
    "es": {2: ("medio", "medios"), 3: ("tercio", "tercios"), 4: ("cuarto", "cuartos")},
    "fr": {2: ("demi", "demis"), 3: ("tiers", "tiers"), 4: ("quart", "quarts")},
    "it": {2: ("mezzo", "mezzi"), 3: ("terzo", "terzi"), 4: ("quarto", "quarti")},
    "pt": {2: ("meio", "meios"), 3: ("terço", "terços"), 4: ("quarto", "quartos")},
}
_HI_FRACTIONS = {(1, 2): "आधा", (1, 4): "एक चौथाई", (3, 4): "तीन चौथाई", (1, 3): "एक तिहाई",
                 (2, 3): "दो तिहाई"}


def _fraction_words(n: int, d: int, L: _Lang) -> str | None:
    if not (0 < n < d <= 10):
        return None
    fam = L.family
    if fam == "hi":
        return _HI_FRACTIONS.get((n, d)) or f"{_cardinal(n, L)} बटा {_cardinal(d, L)}"
    names = _FRACTION_NAMES[fam].get(d)
    if names is None:
        ordinal = _ordinal(d, L)
        if fam == "it":
            names = (ordinal, re.sub(r"o\b", "i", ordinal))
        else:
            names = (ordinal, ordinal + "s")
    return f"{_agree(_cardinal(n, L), L, False)} {names[0] if n == 1 else names[1]}"


def _with_whole(whole: str | None, frac_words: str, n: int, L: _Lang) -> str:
    if not whole:
        return frac_words
    if L.family == "en" and n == 1:
        frac_words = "a " + frac_words.split(" ", 1)[1]
    return f"{_say_int(whole, L)} {L.w['and']} {frac_words}"


def _rule_fractions(text: str, c: _Ctx) -> str:
    """1/2 -> "one half", 2 ¾ -> "two and three quarters" (denominators up to ten)."""
    assert c.L is not None
    L = c.L

    def slash(m: re.Match[str]) -> str | None:
        n, d = int(_ascii_digits(m.group("n"))), int(_ascii_digits(m.group("d")))
        words = _fraction_words(n, d, L)
        return None if words is None else _with_whole(m.group("whole"), words, n, L)

    def vulgar(m: re.Match[str]) -> str | None:
        n, d = _VULGAR[m.group("v")]
        words = _fraction_words(n, d, L)
        return None if words is None else _with_whole(m.group("whole"), words, n, L)

    return c.sub(_VULGAR_RE, vulgar, c.sub(_FRACTION_RE, slash, text))


def _is_year(num: str) -> bool:
    return len(num) == 4 and num.isdigit() and 1100 <= int(num) <= 2099


def _rule_ranges(text: str, c: _Ctx) -> str:
    """5-10 -> "five to ten"; 1990-1995 -> years in English."""
    assert c.L is not None
    L = c.L

    def fn(m: re.Match[str]) -> str | None:
        a, b = m.group("a"), m.group("b")
        if L.family == "en" and _is_year(a) and _is_year(b) and int(a) < int(b):
            return f"{_year(int(a), L)} {L.w['to']} {_year(int(b), L)}"
        return f"{_say_number(*_parse_num(a, L), L)} {L.w['to']} {_say_number(*_parse_num(b, L), L)}"

    return c.sub(_patterns(L.family).ranges, fn, text)


# ---------------------------------------------------------------------------
# Symbols and plain numbers
# ---------------------------------------------------------------------------

_AMP_RE = re.compile(r"\s*&\s*")
_PLUS_RE = re.compile(r"(?<=[\w)\]])\s*\+\s*(?=[\w(])")
_AT_RE = re.compile(r"\s*@\s*(?=\w)|(?<=\s)@(?=\s)")
_HASH_RE = re.compile(r"#\s?(?=\d)")
_EQUALS_RE = re.compile(r"\s*(?<![=!<>])=(?![=])\s*(?=\S)")
_TILDE_RE = re.compile(r"(?<!\S)[~≈]\s?(?=\w)")
_PLUSMINUS_RE = re.compile(r"±\s?")
_TIMES_RE = re.compile(r"(?<=\d)\s?×\s?(?=\d)")


def _rule_symbols(text: str, c: _Ctx) -> str:
    """Symbols espeak-ng skips or names oddly: & @ + # = ~ ± ×."""
    assert c.L is not None
    w = c.L.w
    for pattern, word in ((_AMP_RE, w["and"]), (_PLUS_RE, w["plus"]), (_AT_RE, w["at"]),
                          (_HASH_RE, w["number"]), (_EQUALS_RE, w["equals"]),
                          (_TILDE_RE, w["about"]), (_PLUSMINUS_RE, w["plusminus"]),
                          (_TIMES_RE, w["times"])):
        text = c.sub(pattern, lambda m, word=word: f" {word} ", text)
    return text


def _rule_numbers(text: str, c: _Ctx) -> str:
    """Every remaining standalone number: cardinals, decimals, negatives,
    thousands separators; dotted runs (versions, IPs) digit-group by group."""
    assert c.L is not None
    L, P = c.L, _patterns(c.L.family)

    def dotted(m: re.Match[str]) -> str | None:
        s = m.group()
        if L.family in ("es", "fr", "it", "pt") and _DOT_THOUSANDS_RE.fullmatch(s):
            return None  # "1.000.000" is a number here; the general rule reads it
        return f" {L.w['dot']} ".join(_say_int(part, L) for part in s.split("."))

    def number(m: re.Match[str]) -> str:
        return _say_number(*_parse_num(m.group("num"), L), L, m.group("sign") or "")

    text = c.sub(P.dotted, dotted, text)
    return c.sub(P.numbers, number, text)


# ---------------------------------------------------------------------------
# Pipeline
# ---------------------------------------------------------------------------

_PIPELINE: tuple[tuple[str, Callable[[str, _Ctx], str], bool], ...] = (
    # (rule name, function, needs a supported language)
    ("emoji", _rule_emoji, False),
    ("markdown", _rule_markdown, False),
    ("emails", _rule_emails, True),
    ("urls", _rule_urls, True),
    ("abbreviations", _rule_abbreviations, True),
    ("symbols", _rule_symbols, True),
    ("money", _rule_money, True),
    ("phone", _rule_phone, True),
    ("date", _rule_date, True),
    ("time", _rule_time, True),
    ("percent", _rule_percent, True),
    ("units", _rule_units, True),
    ("years", _rule_years, True),
    ("ordinals", _rule_ordinals, True),
    ("fractions", _rule_fractions, True),
    ("ranges", _rule_ranges, True),
    ("numbers", _rule_numbers, True),
)
assert tuple(name for name, _, _ in _PIPELINE) == RULES

# Rules that only delete noise: when off they simply do not run (sealing
# their spans would hide the text inside them from every other rule).
_SKIP_WHEN_DISABLED = frozenset({"emoji", "markdown"})

_SPACES_RE = re.compile(r"\s+")
_DOUBLE_PUNCT_RE = re.compile(r"(?<=[.!?,;:])(?: [.,;:])+(?=\s|$)")
_SPACE_BEFORE_PUNCT_RE = re.compile(r" ([,.;:!?])(?=\s|$)")


def _tidy_spacing(text: str) -> str:
    """Single spaces, no space before punctuation, no ". ." left by deletions."""
    text = _SPACES_RE.sub(" ", text).strip()
    text = _DOUBLE_PUNCT_RE.sub("", text)
    return _SPACE_BEFORE_PUNCT_RE.sub(r"\1", text)


def normalize(
    text: str,
    lang: str = "en-us",
    *,
    disabled: Collection[str] = (),
    date_order: str | None = None,
) -> str:
    """Rewrite `text` as words a TTS voice can say.

    lang: en-us, en-gb, es, fr-fr, it, pt-br or hi get the full treatment;
    any other language (ja, zh, ...) only markdown/emoji/whitespace cleanup.
    disabled: names from ``RULES``; a disabled rule leaves its tokens as written.
    date_order: "mdy" or "dmy" for ambiguous numeric dates; default mdy for
    en-us, dmy for everything else.

    Never raises; the result is single-spaced and stripped.
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    L = _resolve_lang(lang if isinstance(lang, str) else "")
    off = frozenset(disabled or ())
    if date_order not in ("mdy", "dmy"):
        date_order = "mdy" if L is not None and L.key == "en-us" else "dmy"
    ctx = _Ctx(L, off, date_order)
    try:
        work = _protect_phonemes(_sanitize(text), ctx)
        for name, rule, needs_lang in _PIPELINE:
            if needs_lang and L is None:
                continue
            if name in off:
                if name in _SKIP_WHEN_DISABLED:
                    continue
                ctx.sealing = True
            try:
                work = rule(work, ctx)
            finally:
                ctx.sealing = False
        return ctx.unseal(_tidy_spacing(work))
    except Exception:  # noqa: BLE001 - speech must go on; fall back to the raw text
        try:
            return _tidy_spacing(_sanitize(text))
        except Exception:  # noqa: BLE001
            return " ".join(str(text).split())
