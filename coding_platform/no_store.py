"""Cache-Control: no-store on every response Django itself produces.

Transcripts, codings and reliability results are clinical data and appear on most pages and
API responses; a shared lab computer's browser cache, or a proxy, must keep none of them. So
instead of a list of the pages that show transcript text (which a new page could miss), every
response made by a view is marked; static files, served by WhiteNoise before this middleware,
keep their long cache lifetimes. A view that already says no-store (the recording stream)
keeps its own header.
"""

from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "no-store" not in response.get("Cache-Control", ""):
            add_never_cache_headers(response)
        return response
