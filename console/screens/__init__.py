"""One module per screen, each with its stylesheet beside it (``runners.py`` + ``runners.tcss``)."""
