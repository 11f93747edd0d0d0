"""API: get a token with email and password; list and revoke one's own tokens."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import services
from apps.accounts.models import ApiToken


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(help_text="The account's email address.")
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="What the token is for."
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at"]
        read_only_fields = fields


class IssuedTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(help_text="The key: send it as `Authorization: Token <key>`.")

    class Meta(ApiTokenSerializer.Meta):
        fields = ["token", *ApiTokenSerializer.Meta.fields]
        read_only_fields = fields


class TokenObtainView(APIView):
    """Exchange email and password for a new API token (shown once; it expires)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    locks_out_failed_logins = True  # django-axes answers 429 (documented in the schema)

    @extend_schema(request=TokenRequestSerializer, responses={200: IssuedTokenSerializer})
    def post(self, request):
        form = TokenRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        # The Django request, so that django-axes counts the attempt and locks out by account
        # and address (its middleware then answers 429).
        user = authenticate(
            request._request,
            username=form.validated_data["username"],
            password=form.validated_data["password"],
        )
        if user is None:
            raise serializers.ValidationError(
                {"non_field_errors": ["Unable to log in with these credentials."]}
            )
        # Getting a token is logging in: the failure count is cleared and last_login set.
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        issued = services.api_token_create(user=user, name=form.validated_data.get("name", ""))
        body = {"token": issued.key, **ApiTokenSerializer(issued.token).data}
        return Response(body, status=status.HTTP_200_OK)


class TokenListView(APIView):
    """The caller's own API tokens (never their keys)."""

    @extend_schema(responses={200: ApiTokenSerializer(many=True)})
    def get(self, request):
        tokens = ApiToken.objects.for_user(request.user)
        return Response(ApiTokenSerializer(tokens, many=True).data)


class TokenDetailView(APIView):
    """Revoke one of the caller's own tokens."""

    @extend_schema(responses={204: None})
    def delete(self, request, token_id: int):
        services.api_token_revoke(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
