"""The gather state of requests in Redis: its typed shape (state), the store, its Lua scripts."""
