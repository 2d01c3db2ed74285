"""flowbus_llm_gateway"""
