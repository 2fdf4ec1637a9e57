"""Plans: redrawing boundaries safely (drafts, edits, preview, commit)."""
