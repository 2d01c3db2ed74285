"""flowbus_governance"""
