"""Gradio entry point (the file Hugging Face Spaces runs)."""

import gradio as gr

with gr.Blocks(title="graphwright") as demo:
    gr.Markdown("# graphwright")

if __name__ == "__main__":
    demo.launch()
