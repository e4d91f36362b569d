"""The default messages a user sees, per language.

Keys are the outcome names of :mod:`flask_capture_link.outcomes`. Each app overrides any of
them, and adds languages, with ``CAPTURE_LINK_MESSAGES`` (a per-language dict such as
``{"nl": {...}}``). Every language here has every key of ``en``.
"""

from __future__ import annotations

_TRY_LATER_EN = (
    "Connected accounts cannot be changed right now because of a problem on our side. "
    "Nothing was changed; please try again later."
)
_TRY_LATER_ES = (
    "Ahora mismo no es posible cambiar las cuentas conectadas por un problema de nuestra "
    "parte. No se ha cambiado nada; inténtalo de nuevo más tarde."
)
_TRY_LATER_FR = (
    "Les comptes associés ne peuvent pas être modifiés pour le moment à cause d'un problème "
    "de notre côté. Rien n'a été modifié ; veuillez réessayer plus tard."
)
_TRY_LATER_DE = (
    "Verknüpfte Konten können wegen eines Problems auf unserer Seite gerade nicht geändert "
    "werden. Es wurde nichts geändert; bitte versuchen Sie es später erneut."
)

ENGLISH: dict[str, str] = {
    "unconfirmed_unchanged": (
        "The account service did not answer in time. We checked your connected accounts "
        "afterwards and nothing was changed; please try again."
    ),
    "unconfirmed": (
        "The account service did not answer in time, so we cannot tell whether that worked. "
        "Please check your connected accounts before trying again."
    ),
    "link_button": "Link your {provider} account",
    "unlink_button": "Unlink {identity}",
    "success": "Your account is now linked. You can use it to sign in from now on.",
    "unlinked": "The account was unlinked. You can no longer use it to sign in.",
    "needs_fresh_sign_in": "Please confirm your password to change your sign-in methods.",
    "unlink_not_allowed": (
        "That account cannot be unlinked: it may be your only way to sign in. "
        "Link another account first; nothing was changed."
    ),
    "unlink_disabled": "Your only way to sign in: link another account before unlinking this one.",
    "invalid_state": (
        "That link request has expired or did not start on this page. "
        "Nothing was changed; please try again."
    ),
    "missing_token": "Linking was cancelled and nothing was changed. You can try again anytime.",
    "missing_access_token": "Please sign in first, then link your account.",
    "missing_identifier": "Choose which account to unlink, then try again.",
    "not_linked": "That account is not linked to your profile, so there was nothing to unlink.",
    "no_account_for_identity": (
        "That account is not linked to a profile here yet. Sign in another way (for example "
        "with your email address and password), then link it from your account page."
    ),
    "email_address_in_use": (
        "You already have an account with that email address. Confirm that it is yours to link "
        "this account to it; nothing was changed yet."
    ),
    "merge_expired": (
        "The request to link your accounts has expired or was already used, so nothing was "
        "linked. Please sign in with that account again."
    ),
    "unique_violation": (
        "That account is already linked to a profile (yours or another one), so nothing was "
        "changed. If it is not among your connected accounts, sign in with it instead, or link "
        "a different account."
    ),
    "unique_violation_listed": (
        "That {provider} account is already linked to a profile, so nothing was changed. It may "
        "be the {provider} account already listed among your connected accounts; if not, it "
        "belongs to another profile: sign in with it instead."
    ),
    "engage_error": (
        "The sign-in with that account did not complete or took too long. Please try again."
    ),
    "invalid_access_token": "Your session has ended. Please sign in again, then try again.",
    "no_access_grant": "Your session has ended. Please sign in again, then try again.",
    "access_token_expired": "Your session has expired. Please sign in again, then try again.",
    "session_expired": (
        "Your sign-in has timed out. Nothing was changed; please sign in again, then try again."
    ),
    "invalid_credentials": "That email address and password do not match. Please try again.",
    "api_feature_disabled": (
        "The account service is busy. Nothing was changed; please try again in a few minutes."
    ),
    "api_limit_error": (
        "The account service is busy. Nothing was changed; please try again in a few minutes."
    ),
    "unavailable": (
        "We could not reach the account service. Nothing was changed; "
        "please try again in a few minutes."
    ),
    "missing_argument": _TRY_LATER_EN,
    "invalid_argument": _TRY_LATER_EN,
    "permission_error": _TRY_LATER_EN,
    "client_permission_error": _TRY_LATER_EN,
    "unexpected_error": _TRY_LATER_EN,
    "unknown": (
        "Something went wrong and nothing was changed. Please try again later; if it keeps "
        "happening, contact support."
    ),
    # Social sign-in and merge on sign-in.
    "sign_in_cancelled": "Signing in was cancelled. You can try again anytime.",
    "sign_in_button": "Sign in with {provider}",
    "signed_in": "You are signed in.",
    "merged": (
        "Your accounts are now linked and you are signed in. You can use either of them to "
        "sign in from now on."
    ),
    "merge_cancelled": "Nothing was linked. You can sign in another way, or try again anytime.",
    "no_account_register": (
        "That account is not linked to a profile here yet. Create an account, then link it "
        "from your account page."
    ),
    "sign_in_not_set_up": (
        "Signing in with that account is not available right now because of a problem on our "
        "side. Please sign in another way."
    ),
    "merge_title": "Link your accounts",
    "merge_password_intro": (
        "You already have an account with that email address. Enter its email address and "
        "password to link your {provider} account to it and sign in."
    ),
    "merge_social_intro": (
        "You already have an account with that email address, and you sign in to it with "
        "{provider}. Sign in with {provider} to link the new account to it."
    ),
    "merge_email_label": "Email address",
    "merge_password_label": "Password",
    "merge_confirm_button": "Link and sign in",
    "merge_cancel_button": "Cancel and link nothing",
}

SPANISH: dict[str, str] = {
    "unconfirmed_unchanged": (
        "El servicio de cuentas no respondió a tiempo. Después revisamos tus cuentas "
        "conectadas y no se ha cambiado nada; inténtalo de nuevo."
    ),
    "unconfirmed": (
        "El servicio de cuentas no respondió a tiempo, así que no sabemos si funcionó. "
        "Revisa tus cuentas conectadas antes de volver a intentarlo."
    ),
    "link_button": "Vincular tu cuenta de {provider}",
    "unlink_button": "Desvincular {identity}",
    "success": "Tu cuenta ya está vinculada. A partir de ahora puedes usarla para iniciar sesión.",
    "unlinked": "La cuenta se ha desvinculado. Ya no puedes usarla para iniciar sesión.",
    "needs_fresh_sign_in": (
        "Confirma tu contraseña para cambiar tus métodos de inicio de sesión."
    ),
    "unlink_not_allowed": (
        "Esa cuenta no se puede desvincular: puede que sea tu única forma de iniciar sesión. "
        "Vincula antes otra cuenta; no se ha cambiado nada."
    ),
    "unlink_disabled": (
        "Es tu única forma de iniciar sesión: vincula otra cuenta antes de desvincular esta."
    ),
    "invalid_state": (
        "Esa solicitud de vinculación ha caducado o no se inició en esta página. "
        "No se ha cambiado nada; inténtalo de nuevo."
    ),
    "missing_token": "Se canceló la vinculación y no se cambió nada. Puedes volver a intentarlo.",
    "missing_access_token": "Inicia sesión primero y después vincula tu cuenta.",
    "missing_identifier": "Elige qué cuenta quieres desvincular e inténtalo de nuevo.",
    "not_linked": (
        "Esa cuenta no está vinculada a tu perfil, así que no había nada que desvincular."
    ),
    "no_account_for_identity": (
        "Esa cuenta todavía no está vinculada a ningún perfil. Inicia sesión de otra forma (por "
        "ejemplo, con tu correo electrónico y contraseña) y después vincúlala desde la página de "
        "tu cuenta."
    ),
    "email_address_in_use": (
        "Ya tienes una cuenta con esa dirección de correo electrónico. Confirma que es tuya para "
        "vincularle esta cuenta; todavía no se ha cambiado nada."
    ),
    "merge_expired": (
        "La solicitud para vincular tus cuentas ha caducado o ya se usó, así que no se ha "
        "vinculado nada. Vuelve a iniciar sesión con esa cuenta."
    ),
    "unique_violation": (
        "Esa cuenta ya está vinculada a un perfil (el tuyo u otro), así que no se ha cambiado "
        "nada. Si no aparece entre tus cuentas conectadas, inicia sesión con ella o vincula una "
        "cuenta distinta."
    ),
    "unique_violation_listed": (
        "Esa cuenta de {provider} ya está vinculada a un perfil, así que no se ha cambiado nada. "
        "Puede ser la cuenta de {provider} que ya aparece entre tus cuentas conectadas; si no, "
        "pertenece a otro perfil: inicia sesión con ella."
    ),
    "engage_error": (
        "El inicio de sesión con esa cuenta no se completó o tardó demasiado. Inténtalo de nuevo."
    ),
    "invalid_access_token": (
        "Tu sesión ha terminado. Vuelve a iniciar sesión e inténtalo de nuevo."
    ),
    "no_access_grant": "Tu sesión ha terminado. Vuelve a iniciar sesión e inténtalo de nuevo.",
    "access_token_expired": (
        "Tu sesión ha caducado. Vuelve a iniciar sesión e inténtalo de nuevo."
    ),
    "session_expired": (
        "Tu inicio de sesión ha caducado. No se ha cambiado nada; vuelve a iniciar sesión e "
        "inténtalo de nuevo."
    ),
    "invalid_credentials": (
        "El correo electrónico y la contraseña no coinciden. Inténtalo de nuevo."
    ),
    "api_feature_disabled": (
        "El servicio de cuentas está ocupado. No se ha cambiado nada; "
        "inténtalo de nuevo en unos minutos."
    ),
    "api_limit_error": (
        "El servicio de cuentas está ocupado. No se ha cambiado nada; "
        "inténtalo de nuevo en unos minutos."
    ),
    "unavailable": (
        "No pudimos conectar con el servicio de cuentas. No se ha cambiado nada; "
        "inténtalo de nuevo en unos minutos."
    ),
    "missing_argument": _TRY_LATER_ES,
    "invalid_argument": _TRY_LATER_ES,
    "permission_error": _TRY_LATER_ES,
    "client_permission_error": _TRY_LATER_ES,
    "unexpected_error": _TRY_LATER_ES,
    "unknown": (
        "Algo salió mal y no se cambió nada. Inténtalo de nuevo más tarde; "
        "si sigue ocurriendo, contacta con soporte."
    ),
    # Social sign-in and merge on sign-in.
    "sign_in_cancelled": (
        "Se ha cancelado el inicio de sesión. Puedes volver a intentarlo cuando quieras."
    ),
    "sign_in_button": "Iniciar sesión con {provider}",
    "signed_in": "Has iniciado sesión.",
    "merged": (
        "Tus cuentas ya están vinculadas y has iniciado sesión. A partir de ahora puedes usar"
        " cualquiera de ellas para iniciar sesión."
    ),
    "merge_cancelled": (
        "No se ha vinculado nada. Puedes iniciar sesión de otra forma o volver a intentarlo "
        "cuando quieras."
    ),
    "no_account_register": (
        "Esa cuenta todavía no está vinculada a ningún perfil. Crea una cuenta y después "
        "vincúlala desde la página de tu cuenta."
    ),
    "sign_in_not_set_up": (
        "Ahora mismo no es posible iniciar sesión con esa cuenta por un problema de nuestra "
        "parte. Inicia sesión de otra forma."
    ),
    "merge_title": "Vincula tus cuentas",
    "merge_password_intro": (
        "Ya tienes una cuenta con esa dirección de correo electrónico. Escribe su correo "
        "electrónico y su contraseña para vincularle tu cuenta de {provider} e iniciar "
        "sesión."
    ),
    "merge_social_intro": (
        "Ya tienes una cuenta con esa dirección de correo electrónico, y entras en ella con "
        "{provider}. Inicia sesión con {provider} para vincularle la nueva cuenta."
    ),
    "merge_email_label": "Correo electrónico",
    "merge_password_label": "Contraseña",
    "merge_confirm_button": "Vincular e iniciar sesión",
    "merge_cancel_button": "Cancelar sin vincular nada",
}

FRENCH: dict[str, str] = {
    "unconfirmed_unchanged": (
        "Le service des comptes n'a pas répondu à temps. Nous avons ensuite vérifié vos "
        "comptes associés : rien n'a été modifié ; veuillez réessayer."
    ),
    "unconfirmed": (
        "Le service de comptes n'a pas répondu à temps : nous ne savons pas si l'opération a "
        "réussi. Vérifiez vos comptes associés avant de réessayer."
    ),
    "link_button": "Associer votre compte {provider}",
    "unlink_button": "Dissocier {identity}",
    "success": (
        "Votre compte est maintenant associé. Vous pouvez désormais l'utiliser pour vous "
        "connecter."
    ),
    "unlinked": ("Le compte a été dissocié. Vous ne pouvez plus l'utiliser pour vous connecter."),
    "needs_fresh_sign_in": (
        "Veuillez confirmer votre mot de passe pour modifier vos moyens de connexion."
    ),
    "unlink_not_allowed": (
        "Ce compte ne peut pas être dissocié : c'est peut-être votre seul moyen de vous "
        "connecter. Associez d'abord un autre compte ; rien n'a été modifié."
    ),
    "unlink_disabled": (
        "Votre seul moyen de connexion : associez un autre compte avant de dissocier celui-ci."
    ),
    "invalid_state": (
        "Cette demande d'association a expiré ou n'a pas été lancée depuis cette page. "
        "Rien n'a été modifié ; veuillez réessayer."
    ),
    "missing_token": (
        "L'association a été annulée et rien n'a été modifié. Vous pouvez réessayer à tout moment."
    ),
    "missing_access_token": "Veuillez d'abord vous connecter, puis associer votre compte.",
    "missing_identifier": "Choisissez le compte à dissocier, puis réessayez.",
    "not_linked": ("Ce compte n'est pas associé à votre profil : il n'y avait rien à dissocier."),
    "no_account_for_identity": (
        "Ce compte n'est encore associé à aucun profil. Connectez-vous autrement (par exemple "
        "avec votre adresse e-mail et votre mot de passe), puis associez-le depuis la page de "
        "votre compte."
    ),
    "email_address_in_use": (
        "Vous avez déjà un compte avec cette adresse e-mail. Confirmez qu'il est à vous pour y "
        "associer ce compte ; rien n'a encore été modifié."
    ),
    "merge_expired": (
        "La demande d'association de vos comptes a expiré ou a déjà été utilisée : rien n'a été "
        "associé. Reconnectez-vous avec ce compte."
    ),
    "unique_violation": (
        "Ce compte est déjà associé à un profil (le vôtre ou un autre) : rien n'a été modifié. "
        "S'il ne figure pas parmi vos comptes associés, connectez-vous avec lui ou associez un "
        "autre compte."
    ),
    "unique_violation_listed": (
        "Ce compte {provider} est déjà associé à un profil : rien n'a été modifié. Il s'agit "
        "peut-être du compte {provider} déjà affiché parmi vos comptes associés ; sinon, il "
        "appartient à un autre profil : connectez-vous avec lui."
    ),
    "engage_error": (
        "La connexion avec ce compte n'a pas abouti ou a pris trop de temps. Veuillez réessayer."
    ),
    "invalid_access_token": (
        "Votre session est terminée. Veuillez vous reconnecter, puis réessayer."
    ),
    "no_access_grant": "Votre session est terminée. Veuillez vous reconnecter, puis réessayer.",
    "access_token_expired": ("Votre session a expiré. Veuillez vous reconnecter, puis réessayer."),
    "session_expired": (
        "Votre connexion a expiré. Rien n'a été modifié ; veuillez vous reconnecter, puis "
        "réessayer."
    ),
    "invalid_credentials": (
        "L'adresse e-mail et le mot de passe ne correspondent pas. Veuillez réessayer."
    ),
    "api_feature_disabled": (
        "Le service de comptes est surchargé. Rien n'a été modifié ; "
        "veuillez réessayer dans quelques minutes."
    ),
    "api_limit_error": (
        "Le service de comptes est surchargé. Rien n'a été modifié ; "
        "veuillez réessayer dans quelques minutes."
    ),
    "unavailable": (
        "Impossible de joindre le service de comptes. Rien n'a été modifié ; "
        "veuillez réessayer dans quelques minutes."
    ),
    "missing_argument": _TRY_LATER_FR,
    "invalid_argument": _TRY_LATER_FR,
    "permission_error": _TRY_LATER_FR,
    "client_permission_error": _TRY_LATER_FR,
    "unexpected_error": _TRY_LATER_FR,
    "unknown": (
        "Une erreur s'est produite et rien n'a été modifié. Veuillez réessayer plus tard ; "
        "si le problème persiste, contactez le support."
    ),
    # Social sign-in and merge on sign-in.
    "sign_in_cancelled": "La connexion a été annulée. Vous pouvez réessayer à tout moment.",
    "sign_in_button": "Se connecter avec {provider}",
    "signed_in": "Vous êtes connecté.",
    "merged": (
        "Vos comptes sont maintenant associés et vous êtes connecté. Vous pouvez désormais "
        "utiliser l'un ou l'autre pour vous connecter."
    ),
    "merge_cancelled": (
        "Rien n'a été associé. Vous pouvez vous connecter autrement, ou réessayer à tout moment."
    ),
    "no_account_register": (
        "Ce compte n'est encore associé à aucun profil. Créez un compte, puis associez-le "
        "depuis la page de votre compte."
    ),
    "sign_in_not_set_up": (
        "La connexion avec ce compte n'est pas possible pour le moment à cause d'un problème "
        "de notre côté. Veuillez vous connecter autrement."
    ),
    "merge_title": "Associer vos comptes",
    "merge_password_intro": (
        "Vous avez déjà un compte avec cette adresse e-mail. Saisissez son adresse e-mail et "
        "son mot de passe pour y associer votre compte {provider} et vous connecter."
    ),
    "merge_social_intro": (
        "Vous avez déjà un compte avec cette adresse e-mail, auquel vous vous connectez avec "
        "{provider}. Connectez-vous avec {provider} pour y associer le nouveau compte."
    ),
    "merge_email_label": "Adresse e-mail",
    "merge_password_label": "Mot de passe",
    "merge_confirm_button": "Associer et se connecter",
    "merge_cancel_button": "Annuler sans rien associer",
}

GERMAN: dict[str, str] = {
    "unconfirmed_unchanged": (
        "Der Kontodienst hat nicht rechtzeitig geantwortet. Wir haben Ihre verknüpften Konten "
        "danach geprüft: Es wurde nichts geändert; bitte versuchen Sie es erneut."
    ),
    "unconfirmed": (
        "Der Kontodienst hat nicht rechtzeitig geantwortet, daher wissen wir nicht, ob es "
        "geklappt hat. Bitte prüfen Sie Ihre verknüpften Konten, bevor Sie es erneut versuchen."
    ),
    "link_button": "Ihr {provider}-Konto verknüpfen",
    "unlink_button": "Verknüpfung mit {identity} aufheben",
    "success": ("Ihr Konto ist jetzt verknüpft. Sie können sich ab sofort damit anmelden."),
    "unlinked": ("Die Verknüpfung wurde aufgehoben. Sie können sich damit nicht mehr anmelden."),
    "needs_fresh_sign_in": (
        "Bitte bestätigen Sie Ihr Passwort, um Ihre Anmeldemethoden zu ändern."
    ),
    "unlink_not_allowed": (
        "Diese Verknüpfung kann nicht aufgehoben werden: Sie ist möglicherweise Ihre einzige "
        "Möglichkeit, sich anzumelden. Verknüpfen Sie zuerst ein anderes Konto; es wurde "
        "nichts geändert."
    ),
    "unlink_disabled": (
        "Ihre einzige Anmeldemöglichkeit: Verknüpfen Sie zuerst ein anderes Konto, bevor Sie "
        "diese Verknüpfung aufheben."
    ),
    "invalid_state": (
        "Diese Verknüpfungsanfrage ist abgelaufen oder wurde nicht auf dieser Seite gestartet. "
        "Es wurde nichts geändert; bitte versuchen Sie es erneut."
    ),
    "missing_token": (
        "Das Verknüpfen wurde abgebrochen, es wurde nichts geändert. "
        "Sie können es jederzeit erneut versuchen."
    ),
    "missing_access_token": "Bitte melden Sie sich zuerst an und verknüpfen Sie dann Ihr Konto.",
    "missing_identifier": (
        "Wählen Sie das Konto, dessen Verknüpfung aufgehoben werden soll, und versuchen Sie "
        "es erneut."
    ),
    "not_linked": ("Dieses Konto ist nicht mit Ihrem Profil verknüpft; es gab nichts aufzuheben."),
    "no_account_for_identity": (
        "Dieses Konto ist noch mit keinem Profil verknüpft. Melden Sie sich auf andere Weise an "
        "(zum Beispiel mit Ihrer E-Mail-Adresse und Ihrem Passwort) und verknüpfen Sie es dann "
        "auf Ihrer Kontoseite."
    ),
    "email_address_in_use": (
        "Sie haben bereits ein Konto mit dieser E-Mail-Adresse. Bestätigen Sie, dass es Ihr "
        "Konto ist, um dieses Konto damit zu verknüpfen; bisher wurde nichts geändert."
    ),
    "merge_expired": (
        "Die Anfrage, Ihre Konten zu verknüpfen, ist abgelaufen oder wurde bereits verwendet; "
        "es wurde nichts verknüpft. Bitte melden Sie sich erneut mit diesem Konto an."
    ),
    "unique_violation": (
        "Dieses Konto ist bereits mit einem Profil verknüpft (Ihrem oder einem anderen), daher "
        "wurde nichts geändert. Wenn es nicht unter Ihren verknüpften Konten steht, melden Sie "
        "sich damit an oder verknüpfen Sie ein anderes Konto."
    ),
    "unique_violation_listed": (
        "Dieses {provider}-Konto ist bereits mit einem Profil verknüpft, daher wurde nichts "
        "geändert. Vielleicht ist es das {provider}-Konto, das bereits unter Ihren verknüpften "
        "Konten steht; sonst gehört es zu einem anderen Profil: Melden Sie sich damit an."
    ),
    "engage_error": (
        "Die Anmeldung mit diesem Konto wurde nicht abgeschlossen oder hat zu lange gedauert. "
        "Bitte versuchen Sie es erneut."
    ),
    "invalid_access_token": (
        "Ihre Sitzung ist beendet. Bitte melden Sie sich erneut an und versuchen Sie es dann "
        "noch einmal."
    ),
    "no_access_grant": (
        "Ihre Sitzung ist beendet. Bitte melden Sie sich erneut an und versuchen Sie es dann "
        "noch einmal."
    ),
    "access_token_expired": (
        "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an und versuchen Sie es "
        "dann noch einmal."
    ),
    "session_expired": (
        "Ihre Anmeldung ist abgelaufen. Es wurde nichts geändert; bitte melden Sie sich erneut "
        "an und versuchen Sie es dann noch einmal."
    ),
    "invalid_credentials": (
        "E-Mail-Adresse und Passwort passen nicht zusammen. Bitte versuchen Sie es erneut."
    ),
    "api_feature_disabled": (
        "Der Kontodienst ist ausgelastet. Es wurde nichts geändert; bitte versuchen Sie es in "
        "ein paar Minuten erneut."
    ),
    "api_limit_error": (
        "Der Kontodienst ist ausgelastet. Es wurde nichts geändert; bitte versuchen Sie es in "
        "ein paar Minuten erneut."
    ),
    "unavailable": (
        "Der Kontodienst ist nicht erreichbar. Es wurde nichts geändert; bitte versuchen Sie "
        "es in ein paar Minuten erneut."
    ),
    "missing_argument": _TRY_LATER_DE,
    "invalid_argument": _TRY_LATER_DE,
    "permission_error": _TRY_LATER_DE,
    "client_permission_error": _TRY_LATER_DE,
    "unexpected_error": _TRY_LATER_DE,
    "unknown": (
        "Etwas ist schiefgelaufen, es wurde nichts geändert. Bitte versuchen Sie es später "
        "erneut; wenn es wieder passiert, wenden Sie sich an den Support."
    ),
    # Social sign-in and merge on sign-in.
    "sign_in_cancelled": (
        "Die Anmeldung wurde abgebrochen. Sie können es jederzeit erneut versuchen."
    ),
    "sign_in_button": "Mit {provider} anmelden",
    "signed_in": "Sie sind angemeldet.",
    "merged": (
        "Ihre Konten sind jetzt verknüpft und Sie sind angemeldet. Ab sofort können Sie sich "
        "mit beiden anmelden."
    ),
    "merge_cancelled": (
        "Es wurde nichts verknüpft. Sie können sich auf andere Weise anmelden oder es "
        "jederzeit erneut versuchen."
    ),
    "no_account_register": (
        "Dieses Konto ist noch mit keinem Profil verknüpft. Erstellen Sie ein Konto und "
        "verknüpfen Sie es dann auf Ihrer Kontoseite."
    ),
    "sign_in_not_set_up": (
        "Die Anmeldung mit diesem Konto ist wegen eines Problems auf unserer Seite gerade "
        "nicht möglich. Bitte melden Sie sich auf andere Weise an."
    ),
    "merge_title": "Konten verknüpfen",
    "merge_password_intro": (
        "Sie haben bereits ein Konto mit dieser E-Mail-Adresse. Geben Sie seine E-Mail-"
        "Adresse und sein Passwort ein, um Ihr {provider}-Konto damit zu verknüpfen und sich "
        "anzumelden."
    ),
    "merge_social_intro": (
        "Sie haben bereits ein Konto mit dieser E-Mail-Adresse, bei dem Sie sich mit "
        "{provider} anmelden. Melden Sie sich mit {provider} an, um das neue Konto damit zu "
        "verknüpfen."
    ),
    "merge_email_label": "E-Mail-Adresse",
    "merge_password_label": "Passwort",
    "merge_confirm_button": "Verknüpfen und anmelden",
    "merge_cancel_button": "Abbrechen, nichts verknüpfen",
}

#: The fallback language, used for a language or key that the catalog lacks.
FALLBACK = "en"

#: Messages per language code (the part of a locale before ``-``, lower case).
CATALOG: dict[str, dict[str, str]] = {
    "en": ENGLISH,
    "es": SPANISH,
    "fr": FRENCH,
    "de": GERMAN,
}
