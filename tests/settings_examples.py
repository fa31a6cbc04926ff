"""Valid cells for every setting, shared by the tests of ``batchproxy.settings`` (not a test module)."""

from __future__ import annotations

from typing import Any

from botocore.model import StructureShape
from botocore.validate import ParamValidator

from batchproxy import model
from batchproxy.settings import Setting

ROUTES = (
    '[{"Host":"sbc1.example.com","Port":5060,"Protocol":"TCP","Priority":1,"Weight":10},'
    '{"Host":"sbc2.example.com","Port":5061,"Protocol":"UDP","Priority":2,"Weight":5}]'
)

# Every column filled (the fullest request), per setting.
FULL: dict[str, dict[str, str]] = {
    "proxy": {
        "VoiceConnectorId": "abcdef1ghij2klmno3pqr4",
        "DefaultSessionExpiryMinutes": "60",
        "PhoneNumberPoolCountries": "US;CA",
        "FallBackPhoneNumber": "+14155550100",
        "Disabled": "false",
    },
    "termination": {
        "VoiceConnectorId": "vc-term-1",
        "CpsLimit": "10",
        "DefaultPhoneNumber": "+12025550143",
        "CallingRegions": "US;CA",
        "CidrAllowedList": "192.0.2.0/24;198.51.100.0/24",
        "Disabled": "no",
    },
    "origination": {"VoiceConnectorId": "vc-orig-1", "Routes": ROUTES, "Disabled": "0"},
    "logging": {"VoiceConnectorId": "vc-log-1", "EnableSIPLogs": "true", "EnableMediaMetricLogs": "yes"},
    "streaming": {
        "VoiceConnectorId": "vc-stream-1",
        "DataRetentionInHours": "24",
        "Disabled": "false",
        "StreamingNotificationTargets": '[{"NotificationTarget":"EventBridge"},{"NotificationTarget":"SNS"}]',
        "MediaInsightsConfiguration": (
            '{"Disabled":false,"ConfigurationArn":'
            '"arn:aws:chime:us-east-1:111122223333:media-insights-pipeline-configuration/example"}'
        ),
    },
    "emergency-calling": {
        "VoiceConnectorId": "vc-e911-1",
        "DNIS": (
            '[{"EmergencyPhoneNumber":"+12025550199","TestPhoneNumber":"+12025550198","CallingCountry":"US"}]'
        ),
    },
    "external-systems": {
        "VoiceConnectorId": "vc-ext-1",
        "SessionBorderControllerTypes": "RIBBON_SBC;AVAYA_SBCE",
        "ContactCenterSystemTypes": "GENESYS_ENGAGE_ON_PREMISES",
    },
}

# Only the required columns, per setting.
MINIMAL: dict[str, dict[str, str]] = {
    "proxy": {
        "VoiceConnectorId": "vc-p",
        "DefaultSessionExpiryMinutes": "1",
        "PhoneNumberPoolCountries": "US",
    },
    "termination": {"VoiceConnectorId": "vc-t"},
    "origination": {"VoiceConnectorId": "vc-o"},
    "logging": {"VoiceConnectorId": "vc-l"},
    "streaming": {"VoiceConnectorId": "vc-s", "DataRetentionInHours": "0", "Disabled": "true"},
    "emergency-calling": {"VoiceConnectorId": "vc-e"},
    "external-systems": {"VoiceConnectorId": "vc-x"},
}


def sdk_problems(setting: Setting, request: dict[str, Any]) -> str:
    """What botocore's own parameter validation says of a put request ('' when it accepts it)."""
    shape = model.operation(setting.put_operation).input_shape
    assert isinstance(shape, StructureShape)
    report = ParamValidator().validate(request, shape)
    return str(report.generate_report()) if report.has_errors() else ""
