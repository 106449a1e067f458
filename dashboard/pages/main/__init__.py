"""The situational picture at ``/``, one module per concern (the page itself: ``view``)."""
