"""Plain English to step plans, and targets that survive a redesign: the sentence grammar (``grammar.py``, the
local default planner), fuzzy healing (``fuzzy.py``), and the choice of planner and healer from the settings."""
