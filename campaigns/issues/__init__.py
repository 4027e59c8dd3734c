"""Issues: drafts, revisions, the editor and the approval workflow."""
