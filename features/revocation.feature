@mock-only
Feature: Revocation and credential hygiene
  Removing the sync application's keyCredential in the tenant revokes the certificate: the next
  token request fails with AADSTS700027, the client reports it as event 906, and an on-demand
  rotation with an administrator's sign-in recovers. Credentials that the client did not create
  are reported.

  Background:
    Given a tenant
    And a sync server "AZCONNECT" without a TPM
    And the sync server is installed at version "2.5.79.0" by "hybridadmin"

  Scenario: A revoked certificate fails the sync cycle until an on-demand rotation
    Given an administrator removes the sync server's certificate credential in the tenant
    When a sync cycle runs
    Then the sync cycle failed saying "AADSTS700027"
    And event 906 was logged with level Error saying "[MSAL] AcquireTokenWithCertificate"
    And event 906 was logged with level Error saying "AADSTS700027"
    When the sync server rotates its credential on demand with the administrator "hybridadmin"
    Then the operation succeeded
    And the sync application has 1 certificate credential
    When a sync cycle runs
    Then the sync cycle succeeded

  Scenario: A credential added by an Application Administrator is reported
    Given an Application Administrator adds a certificate of their own to the sync application
    When the administrator "hybridadmin" reviews the sync application's credentials
    Then the operation succeeded
    And the review classifies only the Application Administrator's credential as foreign
    And event 1016 was logged with level Warning saying "did not create"
    And event 1016 names the CertificateId of the Application Administrator's credential and no other

  Scenario: A credential added to the sync application's service principal is reported
    Given an Application Administrator adds a certificate of their own to the sync application's service principal
    When the administrator "hybridadmin" reviews the sync application's credentials
    Then the operation succeeded
    And the review classifies only the Application Administrator's credential as foreign
    And event 1016 was logged with level Warning saying "did not create"
    And event 1016 names the CertificateId of the Application Administrator's credential and no other
