"""One construct per component. Stacks (stacks/*_stack.py) only compose these and wire grants."""
