"""flowbus_orchestrator"""
