"""flowbus_cli"""
