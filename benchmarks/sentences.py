"""Home Assistant-style replies for the intelligibility round trip (our own).

Short confirmations, times, temperatures, dates, device names and an LLM
paragraph: what a voice assistant actually says. Used by the real-weights
tests (a subset) and benchmarks/intelligibility.py (all of them).
"""

SENTENCES = [
    "Turned on the kitchen lights.",
    "It is 7:45 AM.",
    "The living room is 21 degrees and the humidity is 48 percent.",
    "Your next meeting starts at 3:30 PM in the small conference room.",
    "I have set a timer for 10 minutes.",
    "The front door is locked and the garage door is closed.",
    "Tomorrow will be cloudy with a high of 14 degrees and light rain in the evening.",
    "The washing machine has finished its cycle.",
    "There are 3 lights on in the house: the hallway, the office and the porch.",
    "Good morning! It is Tuesday, March 12th, and the sun rises at 6:52.",
    "The vacuum cleaner is stuck under the sofa in the bedroom.",
    "Your package was delivered to the front porch at 2:15 this afternoon.",
    "The air quality outside is good, but the pollen count is high today.",
    "I could not find a device called the blue lamp.",
    "The thermostat is set to heat, with a target of 20 degrees.",
    "Battery levels are low on the bathroom motion sensor and the back door sensor.",
    "Sure, I have added milk, eggs and bread to your shopping list.",
    "The dishwasher will start at midnight, when electricity is cheapest.",
    "Solar panels produced 18 kilowatt hours today, which covered most of your use.",
    "Someone is at the front door, and the camera shows a delivery van outside.",
    "Your alarm is set for 6:30 tomorrow morning.",
    "The bedroom window is still open, and it is getting cold outside.",
    "Playing relaxing jazz on the living room speaker.",
    "The garden sprinklers will run for 15 minutes at sunrise.",
    "The coffee machine is heating up and will be ready in about 2 minutes.",
    "It looks like rain later, so you might want to bring an umbrella when you leave for work. "
    "I also noticed that the back door was left unlocked last night, so I locked it for you at 11 PM.",
    "Energy use this week is 12 percent lower than last week, mostly because the heating ran less.",
    "All the lights are off, the doors are locked and the alarm is armed for the night.",
    "The oven has reached 180 degrees, and your timer has 25 minutes left.",
    "Welcome home! I turned on the hallway light and started the heating in the living room.",
]
