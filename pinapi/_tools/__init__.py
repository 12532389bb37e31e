"""Tools a user runs on their own code; they ship in the wheel."""
