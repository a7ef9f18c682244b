UPDATE api_clients SET scopes = TRIM(REPLACE(REPLACE(scopes, 'people:admin', ''), '  ', ' '));
DROP TABLE person_attributes;
DROP TABLE attribute_definitions;
