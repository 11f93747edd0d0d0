"""Pages: my API tokens, changing my password, and the password reset that revokes tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from apps.accounts import services
from apps.accounts.forms import ApiTokenCreateForm
from apps.accounts.models import ApiToken


@login_required
def tokens(request):
    """My API tokens (created, last used, expires), a form to create one, and revoking."""
    form = ApiTokenCreateForm(request.POST or None)
    issued = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            issued = services.api_token_create(user=request.user, name=form.cleaned_data["name"])
            form = ApiTokenCreateForm()
        else:
            status = 400
    context = {
        "form": form,
        "issued": issued,
        "tokens": ApiToken.objects.for_user(request.user),
    }
    return render(request, "accounts/tokens.html", context, status=status)


@login_required
@require_POST
def token_revoke(request, token_id: int):
    services.api_token_revoke(user=request.user, token_id=token_id)
    messages.success(request, "The token is revoked; programs using it are refused from now on.")
    return redirect("accounts:tokens")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change my password; every API token of mine is revoked with it."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password-change-done")

    def form_valid(self, form):
        revoked = services.user_password_set(
            user=form.user, password=form.cleaned_data["new_password1"], validate=False
        )
        update_session_auth_hash(self.request, form.user)
        if revoked:
            messages.info(self.request, f"{revoked} API token(s) revoked with the old password.")
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Set a new password from the emailed link; every API token of the account is revoked."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")

    def form_valid(self, form):
        services.user_password_set(
            user=form.user, password=form.cleaned_data["new_password1"], validate=False
        )
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())
