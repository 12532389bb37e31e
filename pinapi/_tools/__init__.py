"""Tools that ship in the wheel and run on user code; stdlib only, independent of the model."""
