"""Faithful local fakes of the HTTP services the tests cannot reach: the image APIs
(`image_api`, Ideogram and OpenAI, checked against their published descriptions), the chat API
that writes prompts (`chat_api`), Google's sign-in and token endpoints (`google_auth`) and a mail
server (`smtp`). Each runs in-process; `python -m testkit.fakes.image_api` runs one alone."""
