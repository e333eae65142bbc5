"""The expression language: lexer (text -> tokens), parser (tokens -> graph), printer (graph -> text)."""
