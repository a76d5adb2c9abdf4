"""Assistant-style text that used to come out wrong, asserted as said.

Where text could look right and still be spoken wrong ("A M" read as the
article), the phonemes are asserted too.
"""

from __future__ import annotations

import pytest

from wyoming_kokoro.normalize import normalize
from wyoming_kokoro.text import TextPipeline

PIPELINE = TextPipeline()


def said(text: str, language: str = "en-us") -> str:
    return PIPELINE.phonemes(text, language)


@pytest.mark.parametrize(("text", "words", "phonemes"), [
    # AM/PM and a capital A are letters, not the article ɐ ("uh em")
    ("7:05 AM", "seven oh five AM", "sˈɛvən ˈO fˈIv ˌAˈɛm"),
    ("at 3 p.m.", "at three PM.", "æt θɹˈi pˌiˈɛm."),
    ("A & B", "A and B", "ˈA ænd bˈi"),
    ("A dog.", "A dog.", "ɐ dˈɔɡ."),
    # a dot inside a token is not a full stop
    ("Run light.turn_on now", "Run light dot turn on now", "ɹˈʌn lˈIt dˈɑt tˈɜɹn ˌɔn nˈW"),
    ("Update to v2.5.1", "Update to version two point five point one",
     "ˈʌpdˌAt tə vˈɜɹʒən tˈu pˈYnt fˈIv pˈYnt wˈʌn"),
    ("PM2.5 is high", "PM two point five is high", "pˌiˈɛm tˈu pˈYnt fˈIv ɪz hˈI"),
    ("Home Assistant 2024.12", "Home Assistant twenty twenty-four point twelve",
     "hˈOm əsˈɪstᵊnt twˈɛnti twˌɛntifˈɔɹ pˈYnt twˈɛlv"),
])
def test_said_right(text, words, phonemes):
    assert normalize(text) == words
    assert said(text) == phonemes


@pytest.mark.parametrize(("text", "words"), [
    ("Open 24/7.", "Open twenty-four seven."),
    ("a 50/50 chance", "a fifty-fifty chance"),
    ("It is 12 in.", "It is twelve inches."),
    ("a 12 in pizza", "a twelve-inch pizza"),
    ("I have 12 in the box", "I have twelve in the box"),   # the preposition stays
    ("He is 6 ft 2 in tall", "He is six feet two inches tall"),
    ("took 1h 30m", "took one hour thirty minutes"),
    ("2h15m30s left", "two hours fifteen minutes thirty seconds left"),
    ("run 30m", "run thirty meters"),
    ("the 2024 season", "the twenty twenty-four season"),
    ("the 2024 World Cup", "the twenty twenty-four World Cup"),
    ("2024 was a good year.", "twenty twenty-four was a good year."),
    ("I paid 2024 dollars", "I paid two thousand twenty-four dollars"),
    ("It costs $3.50 — 50% off.", "It costs three dollars and fifty cents — fifty percent off."),
    ("Prices rose $10 - 20% this year.", "Prices rose ten dollars — twenty percent this year."),
    ("$5-10 each", "five to ten dollars each"),
    ("Call 555-1234", "Call five five five, one two three four"),
    ("between 200-1500 lux", "between two hundred to one thousand five hundred lux"),
    ("from 5 - 10 minutes", "from five to ten minutes"),
    ("10 - 5 = 5", "ten minus five equals five"),
    ("On Dec. 5, 2025 we met.", "On December fifth, twenty twenty-five we met."),
    ("Dr. Smith is at 9am on 12/15.", "Doctor Smith is at nine AM on December fifteenth."),
    ("about 1/3 of it", "about one third of it"),
    ("Rated 4.5/5 stars by 1.2k users.", "Rated four point five out of five stars by one point two thousand users."),
    ("8/10 points", "eight out of ten points"),
    ("Turn off all lights? (yes/no)", "Turn off all lights? (yes or no)"),
    ("and/or", "and or"),
    ("The timer ends in 00:05:30.", "The timer ends in five minutes and thirty seconds."),
    ("Q3 2024", "Q three twenty twenty-four"),
    ("FY2024", "FY twenty twenty-four"),
    ("2^10", "two to the power of ten"),
    (".5 cups", "point five cups"),
    ("2x faster", "two times faster"),
    ("He is 5'11\".", "He is five feet eleven inches."),
    ("1-2 tbsp", "one to two tablespoons"),
    ("ca. 10 km", "circa ten kilometers"),
    ("In 2020-2021", "In twenty twenty to twenty twenty-one"),
    ("Apt 4B", "Apt 4B"),
    ("15 kWh/day", "fifteen kilowatt hours per day"),
    ("0.25 €/kWh", "twenty-five cents per kWh"),
    ("5 km/h", "five kilometers per hour"),
    ("in '95", "in ninety-five"),
    ("Call 911 now.", "Call nine one one now."),
    ("Room 911", "Room nine hundred eleven"),
    ("ext. 123", "extension one hundred twenty-three"),
    ("Mon, Dec 5", "Monday, December fifth"),
    ("1 gal", "one gallon"),
    ("3M views", "three million views"),
    ("The battery of sensor.motion_hallway is at 15%.",
     "The battery of sensor dot motion hallway is at fifteen percent."),
    ("Version 2024.12.3 is available.", "Version twenty twenty-four point twelve point three is available."),
])
def test_english(text, words):
    assert normalize(text) == words


@pytest.mark.parametrize(("language", "text", "words"), [
    ("es", "1 hora", "una hora"),
    ("es", "21 grados", "veintiún grados"),
    ("es", "21 personas", "veintiuna personas"),
    ("es", "1 día", "un día"),
    ("es", "1 de enero", "uno de enero"),        # not a noun: no agreement
    ("es", "1,5 horas", "uno coma cinco horas"),
    ("pt-br", "2 horas", "duas horas"),
    ("pt-br", "1 pessoa e 2 dias", "uma pessoa e dois dias"),
    ("it", "1 ora", "una ora"),
    ("it", "1 giorno", "un giorno"),
    ("fr", "1 heure et 21 minutes", "une heure et vingt et une minutes"),
    ("es", "tardó 1h 30m", "tardó una hora treinta minutos"),
    ("es", "el 15/12", "el quince de diciembre"),
])
def test_numbers_agree_with_the_noun(language, text, words):
    assert normalize(text, language) == words


def test_agreement_is_heard():
    assert said("1 hora", "es") == said("una hora", "es")
    assert said("2 horas", "pt-br") == said("duas horas", "pt-br")
