"""The `.wf` language: grammar, parser and AST. Imports nothing from the rest of wfkit."""
