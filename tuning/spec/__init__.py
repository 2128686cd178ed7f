"""What the user asked for: the experiment spec, its search space, and the code it names."""
