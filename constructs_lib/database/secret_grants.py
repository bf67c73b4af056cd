"""Reading a secret encrypted with a customer-managed key, granted in the reader's own policy."""
from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager

#: What reading a secret's value takes (as ``Secret.grant_read`` grants it).
SECRET_READ_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")


def grant_secret_read(secret: secretsmanager.ISecret, key: kms.IKey | None, grantee: iam.IGrantable) -> None:
    """Let ``grantee`` read ``secret``, and decrypt it with ``key`` through Secrets Manager only.

    ``Secret.grant_read`` would put the key's part in the key's policy, naming the grantee: with the
    key and secret in a stateful stack and the reader in a stateless one, the stateful stack would
    then depend on the stateless one (a cycle). Here both parts go in the grantee's own policy; the
    key policy already delegates to IAM (the account root), and the secret's own key grant lets
    callers through Secrets Manager.
    """
    iam.Grant.add_to_principal(grantee=grantee, actions=list(SECRET_READ_ACTIONS), resource_arns=[secret.secret_arn])
    if key is not None:
        grantee.grant_principal.add_to_principal_policy(iam.PolicyStatement(
            actions=["kms:Decrypt"], resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{Stack.of(secret).region}.amazonaws.com"}}))
