"""Blueprint pages: `routes` (the list and the editor) and `panels` (what the editor's
config panel partials show: the node, edge or blueprint being edited, its catalogue entry
and the API calls, functions and child blueprints to choose from)."""
