"""Stories: the record of every run (``model.py``), its renderers, and where stories are kept."""
