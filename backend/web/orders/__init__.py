"""Order pages: `routes` (the list and one order's page), `views` (the list's filter as a
form types it, and the timeline's view of an order), `bulk` (reprocess and cancel from the
list)."""
