"""Cache-Control: no-store on every response Django itself produces.

Transcripts, codings and reliability results are clinical data and appear on most pages and
API responses; a shared lab computer's browser cache, or a proxy, must keep none of them. So
instead of a list of the pages that show transcript text (which a new page could miss), every
response made by a view is marked; static files, served by WhiteNoise before this middleware,
keep their long cache lifetimes. A view that already says no-store (the recording stream)
keeps its own header, and so does a response passed through :func:`cache_privately` (the
figures of a finished report: bytes that never change and hold no transcript text).
"""

from django.utils.cache import add_never_cache_headers, patch_vary_headers

PRIVATE_CACHE = "_cache_privately"


def cache_privately(response, *, seconds: int):
    """Let the user's own browser keep this response for ``seconds``; never a shared cache.

    For content that can never change at its URL. ``Vary: Cookie`` keeps a cached copy
    from being reused for another login in the same browser.
    """
    response["Cache-Control"] = f"private, max-age={int(seconds)}, immutable"
    patch_vary_headers(response, ("Cookie",))
    setattr(response, PRIVATE_CACHE, True)
    return response


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(response, PRIVATE_CACHE, False):
            return response
        if "no-store" not in response.get("Cache-Control", ""):
            add_never_cache_headers(response)
        return response
