package sdktest

import (
	"context"
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	msgraph "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/communications"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// runGoClient is a bot written with msgraph-sdk-go and azidentity, as its
// developers would write it: nothing but cfg differs from a bot talking to
// the real Graph. It creates a call and invites a participant into it.
func runGoClient(ctx context.Context, cfg clientConfig) (*clientResult, error) {
	credOpts := &azidentity.ClientSecretCredentialOptions{
		// Instance discovery asks login.microsoftonline.com which clouds
		// exist; a bot pointed at graphvcr (or a sovereign cloud) skips it.
		DisableInstanceDiscovery: true,
	}
	if cfg.Authority != "" {
		credOpts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: cfg.Authority}
	}
	cred, err := azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, cfg.ClientSecret, credOpts)
	if err != nil {
		return nil, fmt.Errorf("create credential: %w", err)
	}
	var hosts []string // nil: the SDK's own list of Graph hosts
	if cfg.AllowedHost != "" {
		hosts = []string{cfg.AllowedHost}
	}
	client, err := msgraph.NewGraphServiceClientWithCredentialsAndHosts(cred, nil, hosts)
	if err != nil {
		return nil, fmt.Errorf("create graph client: %w", err)
	}
	if cfg.GraphOrigin != "" {
		client.GetAdapter().SetBaseUrl(cfg.GraphOrigin + "/v1.0")
	}

	call, err := client.Communications().Calls().Post(ctx, newCall(cfg), nil)
	if err != nil {
		return nil, fmt.Errorf("create call: %w", describeGraphError(err))
	}
	res := &clientResult{CallID: deref(call.GetId())}
	if s := call.GetState(); s != nil {
		res.CallState = s.String()
	}
	if res.CallID == "" {
		return nil, errors.New("create call: answer has no call id")
	}

	op, err := client.Communications().Calls().ByCallId(res.CallID).Participants().Invite().
		Post(ctx, newInvite(cfg), nil)
	if err != nil {
		return nil, fmt.Errorf("invite participant: %w", describeGraphError(err))
	}
	res.OperationID = deref(op.GetId())
	res.ClientContext = deref(op.GetClientContext())
	if s := op.GetStatus(); s != nil {
		res.OperationStatus = s.String()
	}
	return res, nil
}

// newCall is the body of POST /communications/calls: an outgoing
// peer-to-peer call with service-hosted media.
func newCall(cfg clientConfig) *models.Call {
	call := models.NewCall()
	call.SetCallbackUri(&cfg.CallbackURI)
	call.SetTenantId(&cfg.TenantID)
	call.SetRequestedModalities([]models.Modality{models.AUDIO_MODALITY})
	call.SetMediaConfig(models.NewServiceHostedMediaConfig())
	call.SetTargets([]models.InvitationParticipantInfoable{participant(cfg.TargetID, "Adele Vance")})
	return call
}

// newInvite is the body of POST .../participants/invite.
func newInvite(cfg clientConfig) *communications.CallsItemParticipantsInvitePostRequestBody {
	body := communications.NewCallsItemParticipantsInvitePostRequestBody()
	body.SetParticipants([]models.InvitationParticipantInfoable{participant(cfg.InviteeID, "Megan Bowen")})
	body.SetClientContext(&cfg.ClientContext)
	return body
}

func participant(userID, name string) *models.InvitationParticipantInfo {
	user := models.NewIdentity()
	user.SetId(&userID)
	user.SetDisplayName(&name)
	identity := models.NewIdentitySet()
	identity.SetUser(user)
	p := models.NewInvitationParticipantInfo()
	p.SetIdentity(identity)
	return p
}

// describeGraphError adds the status and message of a Graph error answer,
// which the SDK's error type hides behind a generic Error().
func describeGraphError(err error) error {
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) {
		return err
	}
	msg := ""
	if main := oe.GetErrorEscaped(); main != nil {
		msg = deref(main.GetCode()) + ": " + deref(main.GetMessage())
	}
	return fmt.Errorf("graph answered %d %s: %w", oe.ResponseStatusCode, msg, err)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
