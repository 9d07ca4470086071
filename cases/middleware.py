from cases.crypto.datakeys import key_scope


class KeyScopeMiddleware:
    """Unwrapped data keys live for one request only."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with key_scope():
            return self.get_response(request)
