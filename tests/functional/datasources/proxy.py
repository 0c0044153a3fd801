"""A counting, misbehaving HTTP proxy on loopback, for datasource tests.

It forwards every request to a real server and counts it, so that tests
count the HTTP requests a datasource really sends. Its ``mode`` makes it
misbehave: ``slow`` waits ``delay`` seconds first, ``garbage`` answers
200 with HTML, ``wrong`` answers JSON of the wrong shape, ``flaky``
fails the next ``failures`` requests (``how``: ``503`` answers HTTP 503,
``cut`` sends the start of an answer and closes the connection) and then
passes them on.
"""

import collections
import http.server
import threading
import time

import requests


class Proxy:

    def __init__(self, target):
        self.target = target.rstrip('/')
        self.mode = 'pass'
        self.delay = 0.0
        self.failures = 0
        self.how = '503'
        self.counts = collections.Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def _do(self):
                path = self.path.split('?', 1)[0]
                with proxy._lock:
                    proxy.counts[path] += 1
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                if proxy.mode == 'slow':
                    time.sleep(proxy.delay)
                if proxy.mode == 'flaky':
                    with proxy._lock:
                        fail = proxy.failures > 0
                        proxy.failures -= fail
                    if fail and proxy.how == 'cut':
                        self.send_response(200)
                        self.send_header('Content-Type', 'application/json')
                        self.send_header('Content-Length', '100000')
                        self.end_headers()
                        self.wfile.write(b'{"measures": {"')
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    if fail:
                        self._answer(503, b'{"error": "busy"}')
                        return
                if proxy.mode in ('garbage', 'wrong'):
                    data = (b'<html>gateway says hello</html>'
                            if proxy.mode == 'garbage'
                            else b'{"status": "success", "data": 42}')
                    self._answer(200, data)
                    return
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ('host', 'content-length',
                                                'connection')}
                try:
                    r = requests.request(self.command,
                                         proxy.target + self.path,
                                         data=body, headers=headers,
                                         timeout=300)
                except requests.RequestException:
                    self._answer(502, b'{}')
                    return
                self._answer(r.status_code, r.content,
                             r.headers.get('Content-Type'))

            def _answer(self, status, data, ctype='application/json'):
                try:
                    self.send_response(status)
                    self.send_header('Content-Type', ctype or 'text/plain')
                    self.send_header('Content-Length', str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _do

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.server.server_address[1]

    def total(self):
        with self._lock:
            return sum(self.counts.values())

    def reset(self, mode='pass', delay=0.0, failures=0, how='503'):
        with self._lock:
            self.counts.clear()
            self.failures, self.how = failures, how
        self.mode, self.delay = mode, delay

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
