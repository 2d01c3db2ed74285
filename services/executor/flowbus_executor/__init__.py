"""flowbus_executor"""
