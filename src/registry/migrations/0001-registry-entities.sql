-- Model registry metadata of every tenant. One table holds every entity of the Kubeflow Model Registry
-- contract (registered models, model versions, model and doc artifacts, serving environments, inference
-- services, serve models); the tenant is part of every key, foreign key and unique constraint, so no query
-- can reach another tenant's rows through an id.
CREATE SEQUENCE registry_entity_id;

CREATE TABLE registry_entity (
  tenant text NOT NULL,
  id bigint NOT NULL DEFAULT nextval('registry_entity_id'),
  kind text NOT NULL CHECK (kind IN ('registered-model', 'model-version', 'model-artifact', 'doc-artifact',
                                     'serving-environment', 'inference-service', 'serve-model')),
  -- model version -> registered model; artifact -> model version (NULL while standalone);
  -- inference service -> serving environment; serve model -> inference service.
  parent_id bigint,
  name text NOT NULL,
  external_id text,
  description text,
  state text,
  -- Typed fields of the kind (owner, author, uri, modelFormatName, runtime, ...), as the API names them.
  properties jsonb NOT NULL DEFAULT '{}',
  -- customProperties exactly as validated: name -> {metadataType, <type>_value}.
  custom_properties jsonb NOT NULL DEFAULT '{}',
  -- Milliseconds since the epoch.
  create_time bigint NOT NULL,
  update_time bigint NOT NULL,
  PRIMARY KEY (tenant, id),
  FOREIGN KEY (tenant, parent_id) REFERENCES registry_entity (tenant, id),
  CONSTRAINT registry_entity_name_unique UNIQUE NULLS NOT DISTINCT (tenant, kind, parent_id, name),
  CONSTRAINT registry_entity_external_id_unique UNIQUE (tenant, kind, external_id)
);

-- Keyset pagination: (tenant, kind, <order column>, id) for every orderBy.
CREATE INDEX registry_entity_by_id ON registry_entity (tenant, kind, id);
CREATE INDEX registry_entity_by_create_time ON registry_entity (tenant, kind, create_time, id);
CREATE INDEX registry_entity_by_update_time ON registry_entity (tenant, kind, update_time, id);
-- Children of one parent (versions of a model, artifacts of a version, ...).
CREATE INDEX registry_entity_by_parent ON registry_entity (tenant, parent_id, id);
