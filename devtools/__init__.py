"""What tests and benchmarks share, and the app itself never imports: a fake Ollama server
(:mod:`devtools.fake_ollama`), helpers that start the real app in a subprocess
(:mod:`devtools.live`) and the synthetic applicant generator (:mod:`devtools.synthetic`)."""
