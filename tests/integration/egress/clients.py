"""Two ways to talk to the served airlock: an API client with a hub token, and a browser-like
session with the HubOAuth cookie (pages, forms with their XSRF token)."""

import re

import requests


class Client:
    def __init__(self, served, token):
        self.base = served.url
        self.h = {"Authorization": f"token {token}"}

    def get(self, path, **kw):
        return requests.get(self.base + path, headers=self.h, timeout=30, **kw)

    def post(self, path, json=None, **kw):
        return requests.post(self.base + path, headers=self.h, json=json, timeout=30, **kw)


class Browser:
    """A cookie-authenticated session, as after the HubOAuth login."""

    def __init__(self, served, token):
        self.s = requests.Session()
        name, value = served.oauth_cookie(token)
        self.s.cookies.set(name, value)
        self.base = served.url

    def page(self, path):
        r = self.s.get(self.base + path, headers={"Sec-Fetch-Mode": "navigate"})
        token = re.search(r'name="_xsrf" value="([^"]+)"', r.text)
        return r, token.group(1) if token else None

    def form(self, path, data, xsrf):
        return self.s.post(self.base + path, data={**data, "_xsrf": xsrf}, allow_redirects=False)
