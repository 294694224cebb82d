"""A small tkinter application the desktop tests drive: a text field, a Submit button, a
canvas to drag on. Everything that happens is written to the state file (JSON) given as the
first argument, together with where its widgets are on the screen."""

from __future__ import annotations

import json
import os
import sys
import tkinter as tk

TITLE = "Exekra Test App"


def main() -> None:
    path = sys.argv[1]
    state: dict = {"text": None, "submits": 0, "right_clicks": 0, "doubles": 0, "saves": 0,
                   "drag": None, "button_hidden": False, "widgets": {}}  # fmt: skip
    root = tk.Tk()
    root.title(TITLE)
    root.geometry("+40+40")
    entry = tk.Entry(root, width=30, font=("DejaVu Sans", 14))
    entry.pack(padx=10, pady=10)
    button = tk.Button(root, text="Submit", font=("DejaVu Sans", 14, "bold"), bg="#3a7",
                       fg="white", activebackground="#3a7", activeforeground="white")  # fmt: skip
    button.pack(pady=5)
    canvas = tk.Canvas(root, width=240, height=120, bg="#ddd", highlightthickness=0)
    canvas.pack(padx=10, pady=10)

    def save() -> None:  # atomically: the test reads the file while the app runs
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            json.dump(state, fh)
        os.replace(path + ".tmp", path)

    def submit(_event: object = None) -> None:
        state["text"] = entry.get()
        state["submits"] += 1
        save()

    def count(key: str) -> None:
        state[key] += 1
        save()

    def toggle(_event: object = None) -> None:
        if state["button_hidden"]:
            button.pack(pady=5, before=canvas)
        else:
            button.pack_forget()
        state["button_hidden"] = not state["button_hidden"]
        root.update_idletasks()
        save()

    drag: dict = {}

    def press(event: tk.Event) -> None:
        drag["start"] = [event.x, event.y]

    def release(event: tk.Event) -> None:
        state["drag"] = [drag.get("start"), [event.x, event.y]]
        save()

    button.configure(command=submit)
    button.bind("<Button-3>", lambda _e: count("right_clicks"))
    entry.bind("<Return>", submit)
    entry.bind("<Double-Button-1>", lambda _e: count("doubles"))
    root.bind_all("<Control-s>", lambda _e: count("saves"))
    root.bind_all("<F2>", toggle)
    canvas.bind("<ButtonPress-1>", press)
    canvas.bind("<ButtonRelease-1>", release)

    def ready() -> None:
        root.update_idletasks()
        for name, widget in (("entry", entry), ("button", button), ("canvas", canvas)):
            state["widgets"][name] = {
                "left": widget.winfo_rootx(), "top": widget.winfo_rooty(),
                "width": widget.winfo_width(), "height": widget.winfo_height(),
            }  # fmt: skip
        entry.focus_force()
        save()

    root.after(300, ready)
    root.mainloop()


if __name__ == "__main__":
    main()
