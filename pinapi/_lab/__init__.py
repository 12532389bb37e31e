"""Tools that need a source checkout (examples/, docs/): the main job, the
drivers table, the review and its experiments."""
