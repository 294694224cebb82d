"""The keyboard graph editor: a pure model with undo/redo, a canvas and its dialogs."""
