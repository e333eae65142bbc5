"""Compiled programs: a graph flattened once into array instructions, replayed at every point."""
