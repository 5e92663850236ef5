"""The password reset page: reset links by e-mail only, a few an hour, never to a console.

Django's own view does the rest (the form, the token, the e-mail); this one refuses when
no mail server is set (the link would be printed to the server's console) and counts the
requests (hrbatch.accounts.password_reset_allowed).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from hrbatch import accounts
from web.forms import SiteUrlPasswordResetForm


class PasswordResetView(auth_views.PasswordResetView):
    form_class = SiteUrlPasswordResetForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["mail_off"] = not accounts.reset_mail_possible()
        context["per_hour"] = settings.HRBATCH_PASSWORD_RESETS_PER_ACCOUNT
        return context

    def form_valid(self, form: SiteUrlPasswordResetForm) -> HttpResponse:
        if not accounts.reset_mail_possible():
            return self.render_to_response(self.get_context_data(form=form), status=503)
        if not accounts.password_reset_allowed(self.request, form.cleaned_data["email"]):
            # The same answer whether or not an account has this address.
            context = self.get_context_data(form=form, throttled=True)
            return self.render_to_response(context, status=429)
        return super().form_valid(form)
