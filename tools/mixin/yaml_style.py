"""The YAML style of the rule files rendered from mixin/ (scripts/gen_mixin.sh and
gen_prometheusrule.py): indented sequences, which yamllint's default indentation rule accepts,
literal blocks for multi-line PromQL and folded blocks for long sentences."""

import yaml


class Dumper(yaml.SafeDumper):
    """Indented sequences (yamllint's default), literal blocks for multi-line PromQL."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _str_presenter(dumper, value):
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if len(value) > 90 and " " in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=">")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


Dumper.add_representer(str, _str_presenter)
