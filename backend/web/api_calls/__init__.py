"""API call pages: `routes` (the list, the form, "try it") and `forms` (the form's fields
as typed, to and from an `ApiCallSpec`)."""
