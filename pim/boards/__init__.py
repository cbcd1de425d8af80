"""What boards read in a terminal or a file: the standings lists, progress, who answered."""
